"""Labels outside [0, num_classes) stop the run once, before training, naming the dataset, the label
and num_classes (not an IndexError from the loss mid-epoch)."""

import cv2
import numpy as np
import pytest

import loomcls.datasets  # noqa: F401  (registers)
from loomcls.registry import DATASETS, MODELS
from loomcv.config import Config
from loomcv.registry import init_default_scope


def test_a_run_with_labels_beyond_the_head_stops_before_the_first_iteration(tmp_path):
    from loomcv.runner import Runner
    cfg = Config.fromfile("loomcls::lenet/lenet5_1xb64_digits.py")
    cfg.merge_from_dict({"model.backbone.num_classes": 5, "data_preprocessor.num_classes": 5,
                         "work_dir": str(tmp_path / "wd"), "train_cfg.max_epochs": 1})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r"Digits: sample \d+ \(digits/train/\d+\) has label [5-9], "
                                         r"outside \[0, 5\): the model's head has num_classes=5"):
        runner.train()
    with pytest.raises(KeyError, match="no scalar 'train/loss'"):  # no iteration ran
        runner.message_hub.get_scalar("train/loss")


def test_the_error_names_the_annotation_file_and_image(tmp_path):
    init_default_scope("loomcls")
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "ann.txt").write_text("0.png 0\n1.png 7\n2.png 1\n")
    dataset = DATASETS.build(dict(type="CustomDataset", data_root=str(tmp_path), ann_file="ann.txt"))
    model = MODELS.build(dict(type="ImageClassifier", backbone=dict(type="LeNet5", num_classes=5),
                              head=dict(type="ClsHead")))
    with pytest.raises(ValueError, match=r"CustomDataset \(.*ann.txt\): sample 1 \(.*1.png\) has label 7, "
                                         r"outside \[0, 5\)"):
        dataset.check_model(model)
    fine = MODELS.build(dict(type="ImageClassifier", backbone=dict(type="LeNet5", num_classes=8),
                             head=dict(type="ClsHead")))
    dataset.check_model(fine)
    negative = tmp_path / "neg.txt"
    negative.write_text("0.png -1\n")
    unpacked = DATASETS.build(dict(type="CustomDataset", data_root=str(tmp_path), ann_file=str(negative),
                                   serialize_data=False))
    with pytest.raises(ValueError, match="has label -1"):
        unpacked.check_model(fine)
