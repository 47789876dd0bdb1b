"""LabelData: index <-> one-hot conversion and num_classes as metainfo."""

import pytest
import torch

from loomcv.structures import BaseDataElement, LabelData


def test_label_to_onehot():
    onehot = LabelData.label_to_onehot(torch.tensor([1, 3]), num_classes=5)
    assert onehot.tolist() == [0, 1, 0, 1, 0] and onehot.dtype == torch.int64
    assert LabelData.label_to_onehot(torch.tensor(2, dtype=torch.int32), 3).tolist() == [0, 0, 1]
    assert LabelData.label_to_onehot(torch.tensor([2], dtype=torch.uint8), 3).dtype == torch.uint8
    empty = LabelData.label_to_onehot(torch.tensor([], dtype=torch.long), 4)
    assert empty.tolist() == [0, 0, 0, 0]


def test_label_to_onehot_errors():
    with pytest.raises(TypeError, match="label must be a torch.Tensor of class indices, got list"):
        LabelData.label_to_onehot([1], 3)
    with pytest.raises(TypeError, match="integer class indices, got torch.float32"):
        LabelData.label_to_onehot(torch.tensor([1.0]), 3)
    with pytest.raises(ValueError, match=r"label 5 is out of range for num_classes=5 \(valid: 0..4\)"):
        LabelData.label_to_onehot(torch.tensor([0, 5]), 5)
    with pytest.raises(ValueError, match="label -1 is out of range"):
        LabelData.label_to_onehot(torch.tensor([-1]), 5)
    with pytest.raises(ValueError, match="num_classes must be a positive int, got 0"):
        LabelData.label_to_onehot(torch.tensor([0]), 0)
    with pytest.raises(ValueError, match="must be 0-D or 1-D"):
        LabelData.label_to_onehot(torch.zeros(2, 2, dtype=torch.long), 3)


def test_onehot_to_label_round_trip():
    labels = torch.tensor([0, 2, 7])
    onehot = LabelData.label_to_onehot(labels, 9)
    back = LabelData.onehot_to_label(onehot)
    assert back.tolist() == [0, 2, 7] and back.dtype == torch.int64 and back.device == labels.device
    assert LabelData.onehot_to_label(torch.tensor([0.0, 1.0, 1.0])).tolist() == [1, 2]
    assert LabelData.onehot_to_label(torch.tensor([True, False])).tolist() == [0]
    assert LabelData.onehot_to_label(torch.zeros(4)).tolist() == []


def test_onehot_to_label_errors():
    with pytest.raises(ValueError, match="input is not one-hot"):
        LabelData.onehot_to_label(torch.tensor([2]))
    with pytest.raises(ValueError, match="input is not one-hot"):
        LabelData.onehot_to_label(torch.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"got shape \(2, 2\)"):
        LabelData.onehot_to_label(torch.eye(2))
    with pytest.raises(TypeError, match="onehot must be a torch.Tensor, got str"):
        LabelData.onehot_to_label("item")


def test_num_classes_is_metainfo():
    gt = LabelData(metainfo=dict(num_classes=4), label=torch.tensor([3]))
    assert isinstance(gt, BaseDataElement)
    assert gt.metainfo_keys() == ["num_classes"] and gt.keys() == ["label"]
    assert LabelData.label_to_onehot(gt.label, gt.num_classes).tolist() == [0, 0, 0, 1]
    with pytest.raises(AttributeError, match="already a metainfo field"):
        gt.num_classes = 5
    gt.set_metainfo(dict(num_classes=5))
    assert gt.num_classes == 5 and gt.to_dict() == dict(num_classes=5, label=gt.label)
