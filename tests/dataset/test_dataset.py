"""BaseDataset, its wrappers, samplers, collate and DataLoader building on generated JPEG folders."""

import gc
import multiprocessing as mp
import os

import numpy as np
import pytest
import torch

from loomcv.dataset import (BaseDataset, ClassBalancedDataset, ConcatDataset, DefaultSampler, InfiniteSampler,
                            RepeatDataset, build_dataloader, default_collate, pseudo_collate)
from loomcv.errors import BuildArgumentError, ConfigError
from loomcv.registry import DATASETS, FUNCTIONS
from loomcls.structures import DataSample

# the classification steps live in loomcls: named with their scope, as a config without default_scope would
TRAIN_PIPELINE = [
    dict(type="LoadImageFromFile"),
    dict(type="loomcls.RandomResizedCrop", scale=32),
    dict(type="RandomFlip", prob=0.5, direction="horizontal"),
    dict(type="loomcls.ColorJitter", brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type="loomcls.PackInputs"),
]


class ListDataset(BaseDataset):
    METAINFO = dict(classes=("a", "b"))

    def __init__(self, labels, **kwargs):
        self.labels = labels
        super().__init__(**kwargs)

    def load_data_list(self):
        return [dict(img_path=f"{i}.jpg", gt_label=label) for i, label in enumerate(self.labels)]


def test_base_dataset_reads_annotation_file(jpeg_folder):
    root = jpeg_folder.parent
    ds = BaseDataset(ann_file="ann.json", data_root=str(root), data_prefix=dict(img_path="imgs"),
                     pipeline=TRAIN_PIPELINE)
    assert len(ds) == 16 and ds.metainfo["classes"] == ["c0", "c1"]
    info = ds.get_data_info(3)
    assert info == dict(img_path=str(root / "imgs" / "003.jpg"), gt_label=1, sample_idx=3)
    assert ds.get_data_info(-1)["sample_idx"] == 15
    item = ds[3]
    assert item["inputs"].shape == (3, 32, 32) and item["data_samples"].gt_label.tolist() == [1]
    assert item["data_samples"].img_path.endswith("003.jpg")
    assert ds.get_cat_ids(3) == [1]
    assert len(BaseDataset(ann_file=str(jpeg_folder), indices=5)) == 5
    assert [d["gt_label"] for d in (BaseDataset(ann_file=str(jpeg_folder), indices=[1, 2, 3]).get_data_info(i)
                                    for i in range(3))] == [1, 0, 1]
    override = BaseDataset(ann_file=str(jpeg_folder), metainfo=dict(classes=["x", "y"]))
    assert override.metainfo["classes"] == ["x", "y"]
    lazy = BaseDataset(ann_file=str(jpeg_folder), lazy_init=True)
    assert not lazy._fully_initialized and len(lazy) == 16
    assert len(ds.get_subset(4)) == 4 and "number of samples: 16" in repr(ds)
    with pytest.raises(IndexError, match="out of range"):
        ds.get_data_info(16)
    with pytest.raises(ConfigError, match="data_prefix"):
        BaseDataset(ann_file=str(jpeg_folder), data_prefix="imgs")


def test_serialized_and_plain_give_the_same_entries(jpeg_folder):
    a = BaseDataset(ann_file=str(jpeg_folder), serialize_data=True)
    b = BaseDataset(ann_file=str(jpeg_folder), serialize_data=False)
    assert a.data_list == [] and a.data_bytes.dtype == np.uint8 and len(a.data_address) == 16
    assert [a.get_data_info(i) for i in range(16)] == [b.get_data_info(i) for i in range(16)]
    info = a.get_data_info(0)
    info["gt_label"] = 99  # callers get copies
    assert a.get_data_info(0)["gt_label"] == 0


def test_dropped_samples_are_refetched_or_raise_in_test_mode(tmp_path):
    drop_odd = [lambda r: r if r["sample_idx"] % 2 == 0 else None]
    np.random.seed(0)
    ds = ListDataset([0, 1, 0, 1], pipeline=drop_odd)
    assert all(ds[1]["sample_idx"] % 2 == 0 for _ in range(5))
    with pytest.raises(RuntimeError, match="dropped sample 1"):
        ListDataset([0, 1], pipeline=drop_odd, test_mode=True)[1]
    with pytest.raises(RuntimeError, match="dropped 3 samples"):
        ListDataset([0, 1], pipeline=[lambda r: None], max_refetch=2)[0]


def test_wrappers():
    a, b = ListDataset([0, 1, 0]), ListDataset([1, 1])
    cat = ConcatDataset([a, b])
    assert len(cat) == 5 and cat.get_data_info(3)["img_path"] == "0.jpg" and cat.get_cat_ids(4) == [1]
    assert cat[-1]["img_path"] == "1.jpg"
    with pytest.raises(ConfigError, match="differs"):
        ConcatDataset([a, ListDataset([0], metainfo=dict(classes=["z"]))])
    rep = RepeatDataset(dict(type=ListDataset, labels=[0, 1, 0]), times=3)
    assert len(rep) == 9 and rep.get_data_info(4)["img_path"] == "1.jpg"
    balanced = ClassBalancedDataset(ListDataset([0] * 8 + [1] * 2), oversample_thr=0.5)
    # class 1 is in 20% of images: factor sqrt(0.5 / 0.2) = 1.58 -> each repeated twice
    assert len(balanced) == 12 and balanced.repeat_indices.count(8) == 2 and balanced.repeat_indices.count(0) == 1
    assert DATASETS.get("ClassBalancedDataset") is ClassBalancedDataset


def test_default_sampler_split_shuffle_and_resume(monkeypatch):
    ds = list(range(10))
    s = DefaultSampler(ds, shuffle=True, seed=7)
    first = list(s)
    assert sorted(first) == ds and first == list(DefaultSampler(ds, seed=7))
    s.set_epoch(1)
    second = list(s)
    assert sorted(second) == ds and second != first
    s.set_position(4)
    assert len(s) == 6 and list(s) == second[4:]
    assert list(s) == second  # the position applies to one pass only
    assert list(DefaultSampler(ds, shuffle=False)) == ds
    import loomcv.dataset.sampler as sampler_module
    parts = []
    for rank in range(3):
        monkeypatch.setattr(sampler_module, "get_dist_info", lambda rank=rank: (rank, 3))
        parts.append(list(DefaultSampler(ds, seed=1)))
    assert [len(p) for p in parts] == [4, 4, 4] and set(sum(parts, [])) == set(ds)
    monkeypatch.setattr(sampler_module, "get_dist_info", lambda: (2, 3))
    assert len(list(DefaultSampler(ds, seed=1, round_up=False))) == 3


def test_infinite_sampler_is_endless_seeded_and_resumable():
    import itertools
    ds = list(range(5))
    stream = list(itertools.islice(iter(InfiniteSampler(ds, seed=3)), 25))
    assert all(sorted(stream[i:i + 5]) == ds for i in range(0, 25, 5))  # each pass is a permutation
    assert len({tuple(stream[i:i + 5]) for i in range(0, 25, 5)}) > 1
    s = InfiniteSampler(ds, seed=3)
    s.set_position(12)
    assert list(itertools.islice(iter(s), 13)) == stream[12:]
    with pytest.raises(ConfigError, match="position"):
        s.set_position(-1)


def test_collate_functions():
    samples = [dict(inputs=torch.full((3, 2, 2), i), data_samples=DataSample().set_gt_label(i), idx=i)
               for i in range(3)]
    batch = pseudo_collate(samples)
    assert isinstance(batch["inputs"], list) and len(batch["inputs"]) == 3 and batch["idx"] == [0, 1, 2]
    assert all(isinstance(d, DataSample) for d in batch["data_samples"])
    stacked = default_collate(samples)
    assert stacked["inputs"].shape == (3, 3, 2, 2) and stacked["idx"].tolist() == [0, 1, 2]
    assert isinstance(stacked["data_samples"], list)
    assert pseudo_collate([(1, "a"), (2, "b")]) == ([1, 2], ["a", "b"])
    assert default_collate([np.zeros(2), np.ones(2)]).shape == (2, 2)
    with pytest.raises(ValueError, match="pseudo_collate"):
        default_collate([torch.zeros(2), torch.zeros(3)])
    assert FUNCTIONS.get("pseudo_collate") is pseudo_collate and FUNCTIONS.get("default_collate") is default_collate


def _loader_cfg(ann, **kwargs):
    cfg = dict(batch_size=4, num_workers=2, persistent_workers=True, pin_memory=False,
               sampler=dict(type="DefaultSampler", shuffle=True),
               dataset=dict(type="BaseDataset", ann_file=str(ann), data_prefix=dict(img_path="imgs"),
                            data_root=str(ann.parent), pipeline=TRAIN_PIPELINE))
    cfg.update(kwargs)
    return cfg


def _epoch(loader, epoch=0):
    loader.sampler.set_epoch(epoch)
    return [(torch.stack(b["inputs"]), [int(d.gt_label) for d in b["data_samples"]]) for b in loader]


def test_two_worker_dataloader_gives_the_same_batches_for_the_same_seed(jpeg_folder):
    run_a = build_dataloader(_loader_cfg(jpeg_folder), seed=42)
    run_b = build_dataloader(_loader_cfg(jpeg_folder), seed=42)
    other = build_dataloader(_loader_cfg(jpeg_folder, persistent_workers=False), seed=43)
    a0, b0 = _epoch(run_a), _epoch(run_b)
    assert len(a0) == 4 and a0[0][0].shape == (4, 3, 32, 32) and a0[0][0].dtype == torch.uint8
    for (xa, ya), (xb, yb) in zip(a0, b0):
        assert torch.equal(xa, xb) and ya == yb
    a1, b1 = _epoch(run_a, 1), _epoch(run_b, 1)
    assert all(torch.equal(x, y) for (x, _), (y, _) in zip(a1, b1))
    assert not all(torch.equal(x, y) for (x, _), (y, _) in zip(a0, a1))  # epochs differ
    c0 = _epoch(other)
    assert not all(torch.equal(x, y) for (x, _), (y, _) in zip(a0, c0))


def test_build_dataloader_options_and_errors(jpeg_folder):
    loader = build_dataloader(_loader_cfg(jpeg_folder, num_workers=0, collate_fn=dict(type="default_collate"),
                                          batch_size=8, sampler=dict(type="DefaultSampler", shuffle=False)))
    batch = next(iter(loader))
    assert batch["inputs"].shape == (8, 3, 32, 32) and loader.batch_size == 8
    with_batch_sampler = build_dataloader(_loader_cfg(
        jpeg_folder, num_workers=0, batch_sampler=dict(type=torch.utils.data.BatchSampler, drop_last=True),
        batch_size=5))
    assert len(with_batch_sampler) == 3
    with pytest.raises(BuildArgumentError, match="Did you mean: 'num_workers'"):
        build_dataloader(_loader_cfg(jpeg_folder, num_worker=2))
    with pytest.raises(ConfigError, match="pseudo_colate"):
        build_dataloader(_loader_cfg(jpeg_folder, num_workers=0, collate_fn=dict(type="pseudo_colate")))


def _private_dirty_kb() -> int:
    with open(f"/proc/{os.getpid()}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise RuntimeError("no Private_Dirty in smaps_rollup")


def _read_all(dataset, queue):
    before = _private_dirty_kb()
    for i in range(len(dataset)):
        dataset.get_data_info(i)
    queue.put(_private_dirty_kb() - before)


def _worker_growth_kb(dataset) -> int:
    """Fork a reader (as DataLoader workers are started on Linux) and measure its private memory growth."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_read_all, args=(dataset, queue))
    proc.start()
    growth = queue.get(timeout=120)
    proc.join(30)
    return growth


@pytest.mark.skipif(not os.path.exists("/proc/self/smaps_rollup"), reason="needs Linux /proc smaps_rollup")
def test_serialized_data_list_does_not_grow_worker_memory():
    labels = [i % 10 for i in range(150_000)]
    # one dataset alive at a time, so neither's objects are in the other's fork
    packed = ListDataset(labels, serialize_data=True)
    packed_kb = _worker_growth_kb(packed)
    del packed
    gc.collect()
    plain_kb = _worker_growth_kb(ListDataset(labels, serialize_data=False))
    # reading every entry of a list of dicts dirties (copies) the pages holding them;
    # the one numpy buffer is only read, so the worker shares it with the parent
    assert plain_kb > 10_000, plain_kb
    assert packed_kb < 3_000 and packed_kb * 5 < plain_kb, (packed_kb, plain_kb)
