import json

import numpy as np
import pytest

import loomcls.datasets  # noqa: F401
from loomcls.datasets import load_digits
from loomcls.registry import DATASETS


def test_digits_embedded_split():
    train = DATASETS.build(dict(type="Digits", split="train"))
    test = DATASETS.build(dict(type="Digits", split="test"))
    assert (len(train), len(test)) == (1437, 360)
    item = test[0]
    assert item["img"].shape == (8, 8) and item["img"].dtype == np.uint8 and item["img"].max() <= 255
    assert train.metainfo["classes"] == tuple("0123456789")
    images, labels = load_digits("all")
    assert images.shape == (1797, 8, 8) and images.max() == 255 and np.bincount(labels).min() >= 170
    assert np.bincount(test.get_gt_labels(), minlength=10).min() >= 35
    assert train.get_cat_ids(0) == [int(train.get_gt_labels()[0])]
    with pytest.raises(ValueError, match="split must be one of"):
        DATASETS.build(dict(type="Digits", split="val"))


def test_cifar10_pickles(tmp_path, layouts):
    root = layouts.cifar10(tmp_path / "cifar")
    train = DATASETS.build(dict(type="CIFAR10", data_root=str(root), split="train"))
    test = DATASETS.build(dict(type="CIFAR10", data_root=str(root / "cifar-10-batches-py"), split="test"))
    assert len(train) == 20 and len(test) == 10
    assert test[3]["img"].shape == (32, 32, 3) and test[3]["gt_label"] == 3
    assert train.metainfo["classes"][0] == "airplane"


def test_missing_data_root_explains_source_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        DATASETS.build(dict(type="CIFAR10", data_root=str(tmp_path / "nope")))
    text = str(err.value)
    assert str(tmp_path / "nope") in text and "cs.toronto.edu" in text and "data_batch_1" in text
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        DATASETS.build(dict(type="MNIST", data_root=str(tmp_path / "mnist")))
    with pytest.raises(FileNotFoundError, match="image-net.org"):
        DATASETS.build(dict(type="ImageNet", data_root=str(tmp_path / "in1k")))


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_idx(tmp_path, layouts, gz):
    root = layouts.mnist(tmp_path / "mnist", gz=gz)
    train = DATASETS.build(dict(type="MNIST", data_root=str(root)))
    test = DATASETS.build(dict(type="FashionMNIST", data_root=str(root), split="test"))
    assert len(train) == 16 and len(test) == 8
    assert train[5]["img"].shape == (28, 28) and train[5]["gt_label"] == 5
    assert test.metainfo["classes"][9] == "Ankle boot"
    (root / ("train-images-idx3-ubyte" + (".gz" if gz else ""))).write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="IDX file"):
        DATASETS.build(dict(type="MNIST", data_root=str(root)))


def test_imagenet_and_custom_folders(tmp_path, layouts):
    root = layouts.imagenet(tmp_path / "in1k")
    train = DATASETS.build(dict(type="ImageNet", data_root=str(root), split="train"))
    val = DATASETS.build(dict(type="ImageNet", data_root=str(root), split="val"))
    assert len(train) == 9 and train.metainfo["classes"] == ("n01", "n02", "n03")
    assert train.get_data_info(4)["gt_label"] == 1 and train.get_data_info(4)["img_path"].endswith(".JPEG")
    assert len(val) == 4 and val.get_data_info(2)["gt_label"] == 2 and val.metainfo["classes"][2] == "n03"
    # CustomDataset: folders with a chosen subset/order of classes, extension filter, ann_file lines
    (root / "train" / "n01" / "notes.txt").write_text("not an image")
    sub = DATASETS.build(dict(type="CustomDataset", data_root=str(root / "train"), classes=["n03", "n01"]))
    assert len(sub) == 6 and sub.get_data_info(0)["gt_label"] == 0 and "n03" in sub.get_data_info(0)["img_path"]
    (tmp_path / "ann.txt").write_text("n01/n01_0.JPEG 2\nn02/n02_1.JPEG 0\n")
    ann = DATASETS.build(dict(type="CustomDataset", data_root=str(root / "train"), ann_file=str(tmp_path / "ann.txt")))
    assert [ann.get_data_info(i)["gt_label"] for i in range(2)] == [2, 0]
    (tmp_path / "bad.txt").write_text("n01/n01_0.JPEG two\n")
    with pytest.raises(ValueError, match="bad.txt:1"):
        DATASETS.build(dict(type="CustomDataset", data_root=str(root / "train"), ann_file=str(tmp_path / "bad.txt")))


def test_multi_label_json(tmp_path):
    ann = {"metainfo": {"classes": ["cat", "dog", "bird"]},
           "data_list": [{"img_path": "a.jpg", "gt_label": [0, 2]}, {"img_path": "b.jpg", "gt_label": [1]}]}
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    ds = DATASETS.build(dict(type="MultiLabelDataset", data_root=str(tmp_path), ann_file="ann.json"))
    assert ds.metainfo["classes"] == ["cat", "dog", "bird"] or tuple(ds.metainfo["classes"]) == ("cat", "dog", "bird")
    assert ds.get_cat_ids(0) == [0, 2] and ds.get_data_info(1)["img_path"] == str(tmp_path / "b.jpg")
