"""Variable-size inputs: AspectRatioBatchSampler from a dataloader config, collate keeping a list of
differently sized images, and the data preprocessor padding the batch and recording its shapes."""

import numpy as np
import pytest
import torch

from loomcv.dataset import AspectRatioBatchSampler, BaseDataset, DefaultSampler, build_dataloader, pseudo_collate
from loomcv.dataset.collate import default_collate
from loomcv.model import ImgDataPreprocessor
from loomcv.structures import BaseDataElement
from loomcv.transforms import BaseTransform

SIZES = [(30, 20), (20, 30), (25, 25), (18, 40), (40, 18), (22, 33), (33, 22), (16, 24), (24, 16), (19, 19),
         (21, 28)]  # (h, w)


class Pack(BaseTransform):
    def transform(self, results):
        sample = BaseDataElement(metainfo=dict(img_shape=results["img"].shape[:2]))
        return dict(inputs=torch.from_numpy(results["img"]).permute(2, 0, 1).contiguous(), data_samples=sample)


class Shapes(BaseDataset):
    """Images of the SIZES above; width/height in the data info as in MMDetection's COCO dataset."""

    def load_data_list(self):
        return [dict(height=h, width=w) for h, w in SIZES]


def make_image(results):
    results["img"] = np.full((results["height"], results["width"], 3), results["sample_idx"], np.uint8)
    return results


def portrait(index):
    h, w = SIZES[index]
    return w < h


def test_aspect_ratio_batches_are_all_portrait_or_all_landscape():
    dataset = Shapes()
    sampler = DefaultSampler(dataset, shuffle=True, seed=0)
    batches = list(AspectRatioBatchSampler(sampler, batch_size=2))
    assert sorted(i for b in batches for i in b) == sorted(sampler)
    # each bucket holds < 2 indices at the end, so only the last batch (the left-overs) may mix
    assert all(len({portrait(i) for i in b}) == 1 for b in batches[:-1])
    assert sum(len({portrait(i) for i in b}) > 1 for b in batches) <= 1
    assert len(AspectRatioBatchSampler(sampler, batch_size=2)) == 6
    dropped = list(AspectRatioBatchSampler(sampler, batch_size=2, drop_last=True))
    assert len(dropped) == len(AspectRatioBatchSampler(sampler, batch_size=2, drop_last=True)) == 5
    assert all(len(b) == 2 for b in dropped)
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        AspectRatioBatchSampler(sampler, batch_size=0)
    with pytest.raises(ValueError, match="get_data_info"):
        AspectRatioBatchSampler(torch.utils.data.SequentialSampler(range(3)), batch_size=2)
    no_size = DefaultSampler(type("NoSize", (BaseDataset,), dict(load_data_list=lambda self: [dict(a=1)]))(),
                             seed=0)
    with pytest.raises(KeyError, match="no 'width'/'height'"):
        list(AspectRatioBatchSampler(no_size, batch_size=1))


def test_dataloader_config_with_batch_sampler_and_variable_size_collate():
    loader = build_dataloader(dict(
        batch_size=3, num_workers=0,
        sampler=dict(type="DefaultSampler", shuffle=True),
        batch_sampler=dict(type="AspectRatioBatchSampler"),
        dataset=dict(type=Shapes, pipeline=[make_image, Pack()])), seed=0)
    assert isinstance(loader.batch_sampler, AspectRatioBatchSampler) and loader.batch_sampler.batch_size == 3
    preprocessor = ImgDataPreprocessor(pad_size_divisor=8, pad_value=255)
    batches = list(loader)
    assert sum(len(b["inputs"]) for b in batches) == len(SIZES)
    for batch in batches:
        assert isinstance(batch["inputs"], list), "collate keeps variable-size images as a list"
        shapes = [tuple(x.shape[1:]) for x in batch["inputs"]]
        out = preprocessor(batch)
        h, w = out["inputs"].shape[-2:]
        assert h % 8 == 0 and w % 8 == 0 and h - max(s[0] for s in shapes) < 8 and w - max(s[1] for s in shapes) < 8
        for x, (ih, iw), sample in zip(out["inputs"], shapes, out["data_samples"]):
            assert sample.batch_input_shape == (h, w)
            assert sample.pad_shape == (-(-ih // 8) * 8, -(-iw // 8) * 8)
            assert (x[:, ih:, :] == 255).all() and (x[:, :, iw:] == 255).all()
    first = batches[0]
    if len({tuple(x.shape) for x in first["inputs"]}) > 1:
        with pytest.raises(ValueError, match="use pseudo_collate"):
            default_collate([dict(inputs=x) for x in first["inputs"]])


def test_preprocessor_records_shapes_for_a_stacked_batch_and_pads_with_pad_value():
    samples = [BaseDataElement(), BaseDataElement()]
    out = ImgDataPreprocessor(pad_size_divisor=16, pad_value=7)(dict(inputs=torch.zeros(2, 3, 20, 30),
                                                                      data_samples=samples))
    assert out["inputs"].shape == (2, 3, 32, 32) and (out["inputs"][:, :, 20:] == 7).all()
    assert [s.batch_input_shape for s in samples] == [(32, 32)] * 2 and samples[0].pad_shape == (32, 32)
    listed = pseudo_collate([dict(inputs=torch.zeros(3, 5, 6)), dict(inputs=torch.zeros(3, 9, 4))])
    assert [tuple(x.shape) for x in listed["inputs"]] == [(3, 5, 6), (3, 9, 4)]
    plain = ImgDataPreprocessor()(dict(inputs=listed["inputs"], data_samples=None))
    assert plain["inputs"].shape == (2, 3, 9, 6)
