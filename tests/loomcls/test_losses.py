import math

import pytest
import torch

from loomcls.models.losses import weighted_loss
from loomcls.registry import BATCH_AUGMENTS, MODELS

LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
LABELS = torch.tensor([0, 2])


def ce_by_hand(row, label):
    return -(row[label] - math.log(sum(math.exp(v) for v in row)))


def test_cross_entropy_matches_hand_computation():
    l0 = ce_by_hand([2, 0, 0], 0)
    l1 = ce_by_hand([0, 1, 0], 2)
    loss = MODELS.build(dict(type="CrossEntropyLoss", loss_weight=2.0))
    assert loss(LOGITS, LABELS).item() == pytest.approx(2.0 * (l0 + l1) / 2, rel=1e-5)
    assert loss(LOGITS, LABELS, reduction_override="sum").item() == pytest.approx(2 * (l0 + l1), rel=1e-5)
    per = loss(LOGITS, LABELS, reduction_override="none")
    assert per.tolist() == pytest.approx([2 * l0, 2 * l1], rel=1e-5)
    # per-sample weight and avg_factor: (1*l0 + 3*l1) / 4
    plain = MODELS.build(dict(type="CrossEntropyLoss"))
    got = plain(LOGITS, LABELS, weight=torch.tensor([1.0, 3.0]), avg_factor=4)
    assert got.item() == pytest.approx((l0 + 3 * l1) / 4, rel=1e-5)


def test_cross_entropy_class_weight_and_soft_and_sigmoid():
    l0 = ce_by_hand([2, 0, 0], 0)
    l1 = ce_by_hand([0, 1, 0], 2)
    cw = MODELS.build(dict(type="CrossEntropyLoss", class_weight=[1.0, 1.0, 3.0], reduction="sum"))
    assert cw(LOGITS, LABELS).item() == pytest.approx(l0 + 3 * l1, rel=1e-5)
    soft = MODELS.build(dict(type="CrossEntropyLoss", use_soft=True))
    onehot = torch.nn.functional.one_hot(LABELS, 3).float()
    assert soft(LOGITS, onehot).item() == pytest.approx((l0 + l1) / 2, rel=1e-5)
    half = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    expect0 = 0.5 * ce_by_hand([2, 0, 0], 0) + 0.5 * ce_by_hand([2, 0, 0], 1)
    assert soft(LOGITS, half).item() == pytest.approx((expect0 + l1) / 2, rel=1e-5)
    sig = MODELS.build(dict(type="CrossEntropyLoss", use_sigmoid=True))

    def bce(x, y):
        p = 1 / (1 + math.exp(-x))
        return -(y * math.log(p) + (1 - y) * math.log(1 - p))

    expect = sum(bce(x, y) for r, t in zip(LOGITS.tolist(), onehot.tolist()) for x, y in zip(r, t)) / 6
    assert sig(LOGITS, LABELS).item() == pytest.approx(expect, rel=1e-5)  # index labels become one-hot
    with pytest.raises(ValueError, match="use_sigmoid and use_soft"):
        MODELS.build(dict(type="CrossEntropyLoss", use_sigmoid=True, use_soft=True))
    with pytest.raises(ValueError, match="'mean'"):
        MODELS.build(dict(type="CrossEntropyLoss", reduction="avg"))


def test_label_smooth_modes():
    e, c = 0.1, 3
    logp = torch.log_softmax(LOGITS, -1)
    onehot = torch.nn.functional.one_hot(LABELS, c).float()
    orig = MODELS.build(dict(type="LabelSmoothLoss", label_smooth_val=e))
    target = onehot * (1 - e) + e / c
    assert orig(LOGITS, LABELS).item() == pytest.approx((-(target * logp).sum(1)).mean().item(), rel=1e-5)
    classy = MODELS.build(dict(type="LabelSmoothLoss", label_smooth_val=e, mode="classy_vision"))
    target = (onehot + e / c) / (1 + e)
    assert classy(LOGITS, LABELS).item() == pytest.approx((-(target * logp).sum(1)).mean().item(), rel=1e-5)
    multi = MODELS.build(dict(type="LabelSmoothLoss", label_smooth_val=e, mode="multi_label"))
    target = torch.where(onehot > 0, 1 - e, e)
    expect = torch.nn.functional.binary_cross_entropy_with_logits(LOGITS, target)
    assert multi(LOGITS, LABELS).item() == pytest.approx(expect.item(), rel=1e-5)
    with pytest.raises(ValueError, match="mode must be one of"):
        MODELS.build(dict(type="LabelSmoothLoss", label_smooth_val=e, mode="classy"))
    with pytest.raises(ValueError, match="num_classes=5"):
        MODELS.build(dict(type="LabelSmoothLoss", label_smooth_val=e, num_classes=5))(LOGITS, LABELS)


def test_focal_and_asymmetric_by_hand():
    x, y = torch.tensor([[0.0, 2.0]]), torch.tensor([[1, 0]])
    p = torch.sigmoid(x)[0].tolist()
    # focal, alpha 0.25, gamma 2: positive 0.25*(1-p0)^2*(-log p0), negative 0.75*p1^2*(-log(1-p1))
    f = 0.25 * (1 - p[0]) ** 2 * -math.log(p[0]) + 0.75 * p[1] ** 2 * -math.log(1 - p[1])
    focal = MODELS.build(dict(type="FocalLoss", reduction="sum"))
    assert focal(x, y).item() == pytest.approx(f, rel=1e-5)
    assert focal(x, torch.tensor([0])).item() == pytest.approx(f, rel=1e-5)
    # asymmetric, gamma_pos 0, gamma_neg 4, clip 0.05: negative prob shifted to p1 - 0.05
    pm = p[1] - 0.05
    a = -math.log(p[0]) + pm ** 4 * -math.log(1 - pm)
    asl = MODELS.build(dict(type="AsymmetricLoss", reduction="sum"))
    assert asl(x, y).item() == pytest.approx(a, rel=1e-5)


def test_mmcls_0x_tutorial_l1_loss_example_as_written():
    # the article's code, with its registry import adapted to loomcls
    import torch.nn as nn

    @weighted_loss
    def l1_loss(pred, target):
        assert pred.size() == target.size() and target.numel() > 0
        loss = torch.abs(pred - target)
        return loss

    @MODELS.register_module(force=True)
    class L1Loss(nn.Module):
        def __init__(self, reduction='mean', loss_weight=1.0):
            super(L1Loss, self).__init__()
            self.reduction = reduction
            self.loss_weight = loss_weight

        def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
            assert reduction_override in (None, 'none', 'mean', 'sum')
            reduction = (reduction_override if reduction_override else self.reduction)
            loss = self.loss_weight * l1_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
            return loss

    loss = MODELS.build(dict(type="L1Loss", loss_weight=1.0))
    pred, target = torch.tensor([[1.0, 2.0], [3.0, 5.0]]), torch.zeros(2, 2)
    assert loss(pred, target).item() == pytest.approx(11 / 4)
    assert loss(pred, target, weight=torch.tensor([[1.0, 0.0], [0.0, 1.0]])).item() == pytest.approx(6 / 4)
    assert loss(pred, target, avg_factor=2).item() == pytest.approx(11 / 2)
    assert loss(pred, target, reduction_override="none").tolist() == [[1, 2], [3, 5]]
    with pytest.raises(ValueError, match="avg_factor"):
        loss(pred, target, avg_factor=2, reduction_override="sum")


def test_mixup_and_cutmix_keep_score_mass_and_match_pixels():
    torch.manual_seed(0)
    inputs = torch.arange(4.0).view(4, 1, 1, 1).expand(4, 1, 8, 8).clone()
    scores = torch.eye(4)
    mixed, mixed_scores = BATCH_AUGMENTS.build(dict(type="Mixup", alpha=1.0))(inputs, scores)
    assert torch.allclose(mixed_scores.sum(1), torch.ones(4))
    # each image is a constant, so the mixed value equals sum(score * class value)
    assert torch.allclose(mixed[:, 0, 0, 0], mixed_scores @ torch.arange(4.0))
    mixed, mixed_scores = BATCH_AUGMENTS.build(dict(type="CutMix", alpha=1.0))(inputs, scores)
    for i in range(4):  # the score of each source equals the share of its pixels
        share = torch.stack([(mixed[i] == v).float().mean() for v in range(4)])
        assert torch.allclose(share, mixed_scores[i])
    with pytest.raises(ValueError, match="alpha"):
        BATCH_AUGMENTS.build(dict(type="Mixup", alpha=0))
