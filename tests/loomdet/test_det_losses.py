"""Detection losses against hand formulas, and their weight / reduction / avg_factor rules."""

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from loomdet.models.losses import (CrossEntropyLoss, FocalLoss, GIoULoss, IoULoss, L1Loss, SmoothL1Loss,
                                   weight_reduce_loss, weighted_loss)
from loomdet.registry import MODELS


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_focal_loss_equals_the_formula():
    logits = torch.tensor([[1.5, -0.5], [0.2, 2.0]])
    labels = torch.tensor([0, 2])  # 2 == num_classes: background, every class is a negative
    loss = FocalLoss(gamma=2.0, alpha=0.25, reduction="none")(logits, labels)

    def positive(x):
        p = sigmoid(x)
        return -0.25 * (1 - p) ** 2 * math.log(p)

    def negative(x):
        p = sigmoid(x)
        return -0.75 * p ** 2 * math.log(1 - p)

    expected = [[positive(1.5), negative(-0.5)], [negative(0.2), negative(2.0)]]
    assert loss.tolist() == [pytest.approx(row, rel=1e-5) for row in expected]
    total = sum(sum(row) for row in expected)
    assert FocalLoss()(logits, labels).item() == pytest.approx(total / 4, rel=1e-5)
    assert FocalLoss()(logits, labels, avg_factor=1).item() == pytest.approx(total, rel=1e-5)
    assert FocalLoss(loss_weight=2.0, reduction="sum")(logits, labels).item() == pytest.approx(2 * total, rel=1e-5)


def test_focal_loss_target_forms_and_weights():
    logits = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 3, 1])
    one_hot = F.one_hot(labels, 4)[:, :3]
    focal = FocalLoss(reduction="none")
    assert torch.allclose(focal(logits, labels), focal(logits, one_hot))
    assert torch.allclose(FocalLoss(activated=True, reduction="none")(logits.sigmoid(), labels),
                          focal(logits, labels), atol=1e-5)
    per_prior = torch.tensor([1., 0., 2., 1., 0., 1.])
    assert torch.allclose(focal(logits, labels, weight=per_prior), focal(logits, labels) * per_prior[:, None])
    flat = torch.rand(18, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(focal(logits, labels, weight=flat), focal(logits, labels) * flat.view(6, 3))
    with pytest.raises(ValueError, match="weight"):
        focal(logits, labels, weight=torch.ones(5))
    with pytest.raises(ValueError, match="use_sigmoid"):
        FocalLoss(use_sigmoid=False)
    with pytest.raises(ValueError, match="FocalLoss: reduction_override"):
        focal(logits, labels, reduction_override="max")


def test_weight_reduce_loss_semantics():
    loss = torch.tensor([1., 2., 3., 4.])
    weight = torch.tensor([1., 0., 1., 0.5])
    assert weight_reduce_loss(loss, weight, "sum").item() == 6.
    assert weight_reduce_loss(loss, weight, "mean").item() == 1.5
    assert weight_reduce_loss(loss, weight, "mean", avg_factor=3).item() == pytest.approx(2.)
    assert torch.equal(weight_reduce_loss(loss, weight, "none", avg_factor=3), loss * weight)
    # A zero count (no positives, everything ignored) gives 0, not NaN.
    assert weight_reduce_loss(loss * 0, None, "mean", avg_factor=0).item() == 0
    with pytest.raises(ValueError, match="avg_factor"):
        weight_reduce_loss(loss, None, "sum", avg_factor=2)

    @weighted_loss
    def absolute(pred, target):
        return (pred - target).abs()

    pred, target = torch.tensor([0., 2., 3.]), torch.tensor([1., 1., 1.])
    assert absolute(pred, target).item() == pytest.approx(4 / 3)
    assert absolute(pred, target, torch.tensor([1., 0., 1.])).item() == pytest.approx(1.)
    assert absolute(pred, target, torch.tensor([1., 0., 1.]), avg_factor=2).item() == pytest.approx(1.5)


def test_smooth_l1_and_l1_by_hand():
    pred = torch.tensor([[0.5, 2.0, -1.0, 0.0]])
    target = torch.zeros(1, 4)
    # |d| < beta: 0.5 d**2 / beta; otherwise |d| - beta / 2.
    assert SmoothL1Loss(beta=1.0, reduction="none")(pred, target).tolist() == [[0.125, 1.5, 0.5, 0.0]]
    assert SmoothL1Loss(beta=2.0, reduction="sum")(pred, target).item() == pytest.approx(
        0.0625 + 1.0 + 0.25 + 0.0)
    assert L1Loss(reduction="sum")(pred, target).item() == 3.5
    assert L1Loss(loss_weight=0.5)(pred, target, avg_factor=1).item() == pytest.approx(1.75)
    with pytest.raises(ValueError, match="beta"):
        SmoothL1Loss(beta=0)


def test_all_zero_weights_give_a_zero_loss_that_keeps_the_graph():
    pred = torch.randn(3, 4, requires_grad=True)
    for loss in (SmoothL1Loss(), L1Loss(), IoULoss(), GIoULoss()):
        value = loss(pred, torch.rand(3, 4), weight=torch.zeros(3), avg_factor=0)
        assert value.item() == 0 and value.requires_grad
        value.backward()
    elementwise = L1Loss(reduction="none")(pred, torch.zeros(3, 4), weight=torch.zeros(3, 4))
    assert elementwise.shape == (3, 4)


def test_iou_losses_by_hand():
    pred = torch.tensor([[0., 0., 10., 10.], [0., 0., 10., 10.]])
    target = torch.tensor([[5., 5., 15., 15.], [0., 0., 10., 10.]])
    iou = 25 / 175
    assert IoULoss(reduction="none")(pred, target).tolist() == pytest.approx([-math.log(iou), 0.], abs=1e-5)
    assert IoULoss(mode="linear", reduction="none")(pred, target).tolist() == pytest.approx([1 - iou, 0.], abs=1e-6)
    assert IoULoss(mode="square", reduction="none")(pred, target).tolist() == pytest.approx([1 - iou ** 2, 0.],
                                                                                           abs=1e-6)
    with pytest.warns(DeprecationWarning, match="linear"):
        legacy = IoULoss(linear=True)
    assert legacy.mode == "linear"
    giou = iou - (225 - 175) / 225
    assert GIoULoss(reduction="none")(pred, target).tolist() == pytest.approx([1 - giou, 0.], abs=1e-5)
    # Disjoint boxes still get a gradient signal from GIoU (loss above 1).
    far = GIoULoss()(torch.tensor([[0., 0., 1., 1.]]), torch.tensor([[5., 5., 6., 6.]]))
    assert far.item() > 1
    # A per-coordinate weight is averaged per box.
    coord_weight = torch.tensor([[1., 1., 1., 1.], [0., 0., 0., 0.]])
    assert GIoULoss()(pred, target, weight=coord_weight, avg_factor=1).item() == pytest.approx(1 - giou, abs=1e-5)
    with pytest.raises(ValueError, match="mode"):
        IoULoss(mode="cubic")


def test_softmax_cross_entropy_and_ignore_index():
    logits = torch.randn(5, 4, generator=torch.Generator().manual_seed(2))
    labels = torch.tensor([0, 3, -100, 1, 2])
    plain = CrossEntropyLoss()
    assert plain(logits, labels.clamp(min=0)).item() == pytest.approx(
        F.cross_entropy(logits, labels.clamp(min=0)).item(), rel=1e-6)
    # avg_non_ignore matches torch's mean over the non-ignored labels ...
    non_ignore = CrossEntropyLoss(ignore_index=-100, avg_non_ignore=True)
    assert non_ignore(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)
    # ... while the MMDetection default divides by every label (and says so once).
    with pytest.warns(UserWarning, match="avg_non_ignore"):
        default = CrossEntropyLoss(ignore_index=-100)
    assert default(logits, labels).item() == pytest.approx(F.cross_entropy(logits, labels).item() * 4 / 5, rel=1e-6)
    weighted = CrossEntropyLoss(class_weight=[1., 2., 0.5, 1.], reduction="sum", loss_weight=3.0)
    assert weighted(logits, labels.clamp(min=0)).item() == pytest.approx(
        3 * F.cross_entropy(logits, labels.clamp(min=0), weight=torch.tensor([1., 2., 0.5, 1.]),
                            reduction="sum").item(), rel=1e-5)


def test_sigmoid_cross_entropy_with_background_labels():
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(3))
    labels = torch.tensor([0, 3, 2, 3])  # 3: background, all-zero target row
    targets = torch.tensor([[1., 0., 0.], [0., 0., 0.], [0., 0., 1.], [0., 0., 0.]])
    loss = CrossEntropyLoss(use_sigmoid=True)
    expected = F.binary_cross_entropy_with_logits(logits, targets)
    assert loss(logits, labels).item() == pytest.approx(expected.item(), rel=1e-6)
    assert loss(logits, targets).item() == pytest.approx(expected.item(), rel=1e-6)
    # Ignored rows contribute nothing; avg_non_ignore then averages over valid elements.
    ignored = CrossEntropyLoss(use_sigmoid=True, ignore_index=2, avg_non_ignore=True)
    valid = [0, 1, 3]
    assert ignored(logits, labels).item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits[valid], targets[valid]).item(), rel=1e-6)
    per_prior = torch.tensor([1., 0., 1., 1.])
    assert loss(logits, labels, weight=per_prior, reduction_override="sum").item() == pytest.approx(
        F.binary_cross_entropy_with_logits(logits[[0, 2, 3]], targets[[0, 2, 3]], reduction="sum").item(), rel=1e-6)


def test_mask_cross_entropy_uses_the_class_channel():
    g = torch.Generator().manual_seed(4)
    mask_logits = torch.randn(2, 3, 4, 4, generator=g)
    targets = (torch.rand(2, 4, 4, generator=g) > 0.5).float()
    labels = torch.tensor([2, 0])
    loss = CrossEntropyLoss(use_mask=True)(mask_logits, targets, labels)
    expected = F.binary_cross_entropy_with_logits(torch.stack([mask_logits[0, 2], mask_logits[1, 0]]), targets)
    assert loss.shape == (1,) and loss.item() == pytest.approx(expected.item(), rel=1e-6)
    with pytest.raises(ValueError, match="use_sigmoid and use_mask"):
        CrossEntropyLoss(use_sigmoid=True, use_mask=True)


def test_losses_build_from_configs():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for cfg in (dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                    dict(type="SmoothL1Loss", beta=1.0 / 9.0, loss_weight=1.0), dict(type="L1Loss"),
                    dict(type="IoULoss"), dict(type="GIoULoss", loss_weight=2.0),
                    dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0)):
            assert type(MODELS.build(cfg)).__name__ == cfg["type"]
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction"):
        CrossEntropyLoss(reduction="avg")
