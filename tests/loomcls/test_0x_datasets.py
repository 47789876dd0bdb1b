"""MMClassification 0.x datasets (``load_annotations``, ``CLASSES``) run unchanged from 0.x configs."""

import cv2
import numpy as np
import pytest

import loomcls.datasets  # noqa: F401  (registers)
from loomcls.datasets import BaseDataset
from loomcls.registry import DATASETS
from loomcv.config import Config
from loomcv.registry import init_default_scope


@DATASETS.register_module(force=True)
class Filelist(BaseDataset):
    """The MMClassification 0.x tutorial's custom dataset (chapter 2), as written there."""

    CLASSES = ["cat", "dog", "bird"]

    def load_annotations(self):
        assert isinstance(self.ann_file, str)
        data_infos = []
        with open(self.ann_file) as f:
            samples = [x.strip().split(' ') for x in f.readlines()]
            for filename, gt_label in samples:
                info = {'img_prefix': self.data_prefix}
                info['img_info'] = {'filename': filename}
                info['gt_label'] = np.array(gt_label, dtype=np.int64)
                data_infos.append(info)
            return data_infos


def _image_list(root):
    (root / "images").mkdir(parents=True)
    lines = []
    for i in range(4):
        cv2.imwrite(str(root / "images" / f"{i}.png"), np.full((12, 10, 3), 50 * i, np.uint8))
        lines.append(f"{i}.png {i % 3}")
    (root / "image_list.txt").write_text("\n".join(lines) + "\n")
    return root


def test_a_0x_dataset_with_load_annotations_runs_from_a_0x_config(tmp_path):
    root = _image_list(tmp_path)
    cfg = Config.fromstring(
        "data = dict(samples_per_gpu=2, workers_per_gpu=0, train=dict(\n"
        f"    type='Filelist', data_prefix='{root / 'images'}', ann_file='{root / 'image_list.txt'}',\n"
        "    pipeline=[dict(type='LoadImageFromFile'), dict(type='Normalize', mean=[0, 0, 0], std=[1, 1, 1]),\n"
        "              dict(type='ImageToTensor', keys=['img']), dict(type='ToTensor', keys=['gt_label']),\n"
        "              dict(type='Collect', keys=['img', 'gt_label'])]))\n", ".py")
    init_default_scope("loomcls")
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == 4 and dataset.metainfo["classes"] == ("cat", "dog", "bird")
    assert dataset.get_gt_labels().tolist() == [0, 1, 2, 0]
    assert dataset.data_infos[2]["img_info"] == {"filename": "2.png"}  # 0.x code may read them
    item = dataset[2]
    assert tuple(item["inputs"].shape) == (3, 12, 10) and int(item["inputs"].max()) == 100
    assert item["data_samples"].gt_label.tolist() == [2]


def test_0x_apis_that_cannot_work_say_what_to_write_instead(tmp_path):
    with pytest.warns(FutureWarning, match=r"evaluate is MMClassification 0.x's evaluation.*val_evaluator"):
        class WithEvaluate(Filelist):
            def evaluate(self, results, metric="accuracy", logger=None):
                return {}
    root = _image_list(tmp_path)
    with pytest.warns(FutureWarning, match="file_client_args .* is ignored"):
        Filelist(ann_file=str(root / "image_list.txt"), data_prefix=str(root / "images"),
                 file_client_args=dict(backend="memcached"))

