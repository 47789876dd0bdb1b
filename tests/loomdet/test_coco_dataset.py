"""CocoDataset: MMDetection 3.x's data list from a COCO json, and a clear error for each bad input."""

import json

import cv2
import numpy as np
import pytest
import torch

from loomcv.errors import ConfigError
from loomdet.datasets import CocoDataset
from loomdet.registry import DATASETS


def coco_dict():
    return dict(
        images=[dict(id=1, file_name="a.png", width=64, height=48),
                dict(id=2, file_name="b.png", width=64, height=48),
                dict(id=3, file_name="c.png", width=20, height=48),   # too small for min_size=32
                dict(id=4, file_name="d.png", width=64, height=48)],  # no annotation
        categories=[dict(id=1, name="dog"), dict(id=2, name="cat"), dict(id=3, name="bird")],
        annotations=[
            dict(id=10, image_id=1, category_id=2, bbox=[4, 6, 10, 12], area=120, iscrowd=0,
                 segmentation=[[4, 6, 14, 6, 14, 18]]),
            dict(id=11, image_id=1, category_id=1, bbox=[30, 5, 20, 20], area=400, iscrowd=1),
            dict(id=12, image_id=2, category_id=3, bbox=[1, 1, 10, 10], area=100, iscrowd=0),
            dict(id=13, image_id=3, category_id=1, bbox=[1, 1, 10, 10], area=100, iscrowd=0),
            dict(id=14, image_id=1, category_id=1, bbox=[40, 30, 0.5, 10], area=5, iscrowd=0),  # too thin
        ])


def write_set(root, data=None, images=True):
    (root / "images").mkdir(parents=True, exist_ok=True)
    data = coco_dict() if data is None else data
    if images:
        for img in data["images"]:
            cv2.imwrite(str(root / "images" / img["file_name"]),
                        np.full((img["height"], img["width"], 3), 90, np.uint8))
    (root / "ann.json").write_text(json.dumps(data))
    return root


def build(root, **kwargs):
    cfg = dict(type="CocoDataset", data_root=str(root), ann_file="ann.json", data_prefix=dict(img="images/"),
               metainfo=dict(classes=("cat", "dog")))
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_data_list_has_mmdet_fields_and_labels_follow_the_class_order(tmp_path):
    ds = build(write_set(tmp_path))
    assert len(ds) == 4 and ds.metainfo["classes"] == ("cat", "dog")
    info = ds.get_data_info(0)
    assert info["img_path"] == str(tmp_path / "images" / "a.png")
    assert (info["img_id"], info["height"], info["width"]) == (1, 48, 64)
    cat, crowd_dog = info["instances"]  # the 0.5 px wide box is skipped
    assert cat == dict(bbox=[4, 6, 14, 18], bbox_label=0, ignore_flag=0, mask=[[4, 6, 14, 6, 14, 18]])
    assert crowd_dog["bbox_label"] == 1 and crowd_dog["ignore_flag"] == 1
    assert ds.get_data_info(1)["instances"] == []  # a bird: not one of the classes
    assert ds.get_cat_ids(0) == [0, 1]
    assert "skipped 1 annotation(s) of categories not in metainfo['classes']: 'bird' (1)" in ds.summary
    assert "with area <= 0 or width/height < 1 px" in ds.summary


def test_filter_cfg_drops_empty_and_small_images_and_the_summary_says_so(tmp_path):
    ds = build(write_set(tmp_path), filter_cfg=dict(filter_empty_gt=True, min_size=32))
    assert [ds.get_data_info(i)["img_id"] for i in range(len(ds))] == [1]
    lines = ds.summary.splitlines()
    assert any("images" in line and "1 (of 4 listed)" in line for line in lines)
    dropped = next(line for line in lines if "dropped by filter_cfg" in line)
    assert "3 (2 without a box of the classes, 1 smaller than min_size=32)" in dropped
    assert any(line.split()[:4] == ["cat", "1", "dog", "0"] for line in lines)
    assert "+1 ignored/crowd" in ds.summary
    # test mode keeps everything
    assert len(build(tmp_path, filter_cfg=dict(filter_empty_gt=True, min_size=32), test_mode=True)) == 4


def test_without_classes_the_file_categories_are_used(tmp_path):
    ds = CocoDataset(data_root=str(write_set(tmp_path)), ann_file="ann.json", data_prefix=dict(img="images/"),
                     metainfo=dict(classes=None))
    assert ds.metainfo["classes"] == ("dog", "cat", "bird")
    assert ds.get_data_info(1)["instances"][0]["bbox_label"] == 2


def test_a_class_the_file_lacks_is_an_error_naming_the_closest_category(tmp_path):
    write_set(tmp_path)
    with pytest.raises(ConfigError) as err:
        build(tmp_path, metainfo=dict(classes=("cat", "Dogs", "zebra")))
    text = str(err.value)
    assert "2 class name(s)" in text
    assert "'Dogs': closest category in the file: 'dog'" in text
    assert "'zebra': no similar category in the file" in text


@pytest.mark.parametrize("content, message", [
    ([1, 2, 3], "top level is a list"),
    ({"data_list": [], "metainfo": {}}, "OpenMMLab 2.0 layout"),
    ({"images": []}, "no 'categories'"),
    ({"images": [{"id": 1, "file_name": "a.png"}], "categories": []}, r"images\[0\] has no 'width'"),
])
def test_a_file_that_is_not_coco_says_so(tmp_path, content, message):
    (tmp_path / "ann.json").write_text(json.dumps(content))
    with pytest.raises(ConfigError, match="not a COCO-format annotation file: .*" + message):
        build(tmp_path)


def test_unparsable_json_is_not_coco(tmp_path):
    (tmp_path / "ann.json").write_text("{not json")
    with pytest.raises(ConfigError, match="does not parse as json"):
        build(tmp_path)


def test_an_annotation_with_a_category_id_the_file_does_not_list(tmp_path):
    data = coco_dict()
    data["annotations"][2]["category_id"] = 42
    write_set(tmp_path, data)
    with pytest.raises(ConfigError, match="id 12, image id 2.*category id 42.*does not list.*1='dog'"):
        build(tmp_path)


def test_a_listed_image_that_is_missing_is_named(tmp_path):
    write_set(tmp_path)
    (tmp_path / "images" / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of the 4 images .* do not exist:\n\s+\S*images/b.png"):
        build(tmp_path)


def test_a_box_entirely_outside_its_image_is_an_error(tmp_path):
    data = coco_dict()
    data["annotations"][0]["bbox"] = [70, 6, 10, 12]  # x beyond the 64 px width
    write_set(tmp_path, data)
    with pytest.raises(ConfigError, match="annotation id 10 of image 'a.png'.*entirely outside the image"):
        build(tmp_path)


def test_repeated_annotation_ids_and_missing_ann_file(tmp_path):
    data = coco_dict()
    data["annotations"][1]["id"] = 10
    write_set(tmp_path, data)
    with pytest.raises(ConfigError, match=r"not unique \(repeated: \[10\]\)"):
        build(tmp_path)
    with pytest.raises(FileNotFoundError, match="nope.json"):
        build(tmp_path, ann_file="nope.json")


def test_pipeline_output_carries_instances_for_the_metric(tmp_path):
    pipeline = [dict(type="LoadImageFromFile"),
                dict(type="loomdet.PackDetInputs",
                     meta_keys=("img_id", "img_path", "ori_shape", "img_shape", "instances"))]
    ds = build(write_set(tmp_path), pipeline=pipeline)
    item = ds[0]
    assert item["inputs"].shape == (3, 48, 64) and item["inputs"].dtype == torch.uint8
    assert item["data_samples"].img_id == 1
    assert item["data_samples"].instances[0]["bbox"] == [4, 6, 14, 18]
