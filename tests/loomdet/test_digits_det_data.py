"""The digits detection set: deterministic, boxes agree with pixels, readable as COCO, evaluable."""

import os

import cv2
import numpy as np
import pytest
import torch
from pycocotools import mask as mask_utils

from loomcls.datasets import load_digits
from loomcv.errors import ConfigError
from loomcv.structures import InstanceData
from loomdet.datasets import DigitsDetDataset, generate_digits_det
from loomdet.datasets.digits_det import STROKE_MIN
from loomdet.evaluation import CocoMetric
from loomdet.structures import DetDataSample


def test_same_seed_same_images_and_boxes_other_seed_others():
    a_imgs, a_coco = generate_digits_det("train", num_images=6, seed=3)
    b_imgs, b_coco = generate_digits_det("train", num_images=6, seed=3)
    c_imgs, c_coco = generate_digits_det("train", num_images=6, seed=4)
    assert a_coco == b_coco and all(np.array_equal(x, y) for x, y in zip(a_imgs, b_imgs))
    assert a_coco["annotations"] != c_coco["annotations"]
    v_imgs, _ = generate_digits_det("val", num_images=6, seed=3)
    assert not np.array_equal(a_imgs[0], v_imgs[0])


@pytest.mark.parametrize("split, source", [("train", "train"), ("val", "test")])
def test_boxes_and_pixels_agree(split, source):
    images, coco = generate_digits_det(split, num_images=12, img_size=(112, 96), seed=1)
    digits, labels = load_digits(source)
    per_image = {}
    for ann in coco["annotations"]:
        per_image.setdefault(ann["image_id"], []).append(ann)
    assert [img.shape for img in images] == [(96, 112, 3)] * 12
    counts = [len(per_image.get(i + 1, [])) for i in range(12)]
    assert all(1 <= n <= 5 for n in counts) and sum(n >= 2 for n in counts) >= 10
    for image_id, canvas in enumerate(images, start=1):
        anns = per_image[image_id]
        outside = np.ones(canvas.shape[:2], bool)
        for ann in anns:
            x, y, w, h = ann["bbox"]
            outside[y:y + h, x:x + w] = False
        background = canvas[outside]
        assert (background == background[0]).all() and len(set(background[0])) == 1  # one grey level
        bg = background[0].astype(int)
        boxes = []
        for ann in anns:
            x, y, w, h = ann["bbox"]
            boxes.append((x, y, x + w, y + h))
            assert 0 <= x and x + w <= 112 and 0 <= y and y + h <= 96 and max(w, h) <= 32
            stroke = mask_utils.decode(ann["segmentation"]).astype(bool)
            assert stroke.sum() == ann["area"] and not stroke[outside].any()
            crop, mask = canvas[y:y + h, x:x + w].astype(int), stroke[y:y + h, x:x + w]
            # tight: stroke on every edge of the box; background wherever there is no stroke
            assert mask[0].any() and mask[-1].any() and mask[:, 0].any() and mask[:, -1].any()
            assert (crop[~mask] == bg).all() and (np.abs(crop[mask] - bg) >= 10).all()
            # the stroke is the labelled source digit, upscaled
            assert ann["category_id"] - 1 == labels[ann["digit_index"]]
            digit = digits[ann["digit_index"]]
            matches = []
            for size in range(12, 33):
                up = cv2.resize(digit, (size, size), interpolation=cv2.INTER_LINEAR)
                ys, xs = np.nonzero(up >= STROKE_MIN)
                if len(ys) and (np.ptp(ys) + 1, np.ptp(xs) + 1) == (h, w):
                    matches.append(np.array_equal(up[ys.min():ys.max() + 1, xs.min():xs.max() + 1] >= STROKE_MIN,
                                                  mask))
            assert any(matches)
        for i, a in enumerate(boxes):  # no two boxes overlap
            for b in boxes[i + 1:]:
                assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])


def test_the_dataset_writes_once_reads_as_coco_and_evaluates_perfectly(tmp_path):
    root = str(tmp_path / "digits_det")
    ds = DigitsDetDataset(split="val", num_images=5, img_size=64, data_root=root, seed=2)
    ann_file = os.path.join(root, "annotations", "instances_val.json")
    png = os.path.join(root, "val", "000001.png")
    assert len(ds) == 5 and ds.metainfo["classes"] == tuple("0123456789")
    images, coco = generate_digits_det("val", num_images=5, img_size=64, seed=2)
    np.testing.assert_array_equal(cv2.imread(png), images[0])  # PNG: lossless
    info = ds.get_data_info(0)
    assert info["img_path"] == png and len(info["instances"]) == len([a for a in coco["annotations"]
                                                                       if a["image_id"] == 1])
    stamp = os.stat(ann_file).st_mtime_ns
    DigitsDetDataset(split="val", num_images=5, img_size=64, data_root=root, seed=2)
    assert os.stat(ann_file).st_mtime_ns == stamp  # reused, not rewritten
    DigitsDetDataset(split="val", num_images=5, img_size=64, data_root=root, seed=5)
    assert os.stat(ann_file).st_mtime_ns != stamp  # other arguments: regenerated

    ds = DigitsDetDataset(split="val", num_images=5, img_size=64, data_root=root, seed=2)
    metric = CocoMetric(ann_file=ann_file)
    metric.dataset_meta = ds.metainfo
    samples = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        sample = DetDataSample(metainfo=dict(img_id=info["img_id"], ori_shape=(64, 64)))
        boxes = torch.tensor([inst["bbox"] for inst in info["instances"]], dtype=torch.float32)
        sample.pred_instances = InstanceData(bboxes=boxes, scores=torch.ones(len(boxes)),
                                             labels=torch.tensor([inst["bbox_label"] for inst in info["instances"]]))
        samples.append(sample.to_dict())
    metric.process(None, samples)
    assert metric.evaluate(len(samples))["coco/bbox_mAP"] == 1.0


def test_bad_arguments_are_named(tmp_path):
    with pytest.raises(ConfigError, match="DigitsDetDataset.*split"):
        DigitsDetDataset(split="test", data_root=str(tmp_path))
    with pytest.raises(ConfigError, match="img_size"):
        DigitsDetDataset(img_size=16, data_root=str(tmp_path))
    with pytest.raises(ConfigError, match="num_digits"):
        DigitsDetDataset(num_digits=(3, 2), data_root=str(tmp_path))


def test_repr_of_a_dataset_whose_init_failed_early_does_not_raise():
    """Tracebacks and debuggers show the object whose __init__ raised; its repr must not raise too."""
    half_built = DigitsDetDataset.__new__(DigitsDetDataset)
    assert repr(half_built) == "DigitsDetDataset(not initialized)"


def test_num_class_check_hook_stops_a_head_of_another_class_count(tmp_path):
    """MMDetection's NumClassCheckHook name, listed in custom_hooks, runs the dataset's class check."""
    from types import SimpleNamespace

    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.registry import init_default_scope
    from loomdet.registry import HOOKS, MODELS

    cfg = Config.fromfile(find_config("yolov3_mobilenetv2_1xb16_digitsdet"))
    init_default_scope("loomdet")
    ds = DigitsDetDataset(split="val", num_images=2, img_size=64, data_root=str(tmp_path))
    hook = HOOKS.build(dict(type="NumClassCheckHook"))
    runner = SimpleNamespace(model=MODELS.build(cfg.model), val_dataloader=SimpleNamespace(dataset=ds))
    hook.before_val_epoch(runner)  # 10 classes, 10 outputs: passes
    cfg.model.bbox_head.num_classes = 80
    runner.model = MODELS.build(cfg.model)
    with pytest.raises(ConfigError, match=r"model.bbox_head.num_classes=80.*set model.bbox_head.num_classes=10"):
        hook.before_val_epoch(runner)
