"""Sigmoid focal loss (Lin et al., 2017) with detection's background label."""

import torch.nn as nn
import torch.nn.functional as F

from loomdet.registry import MODELS
from .weighted import resolve_reduction, weight_reduce_loss


def _labels_to_targets(pred, target):
    """Class indices ``(N,)`` in ``[0, C]`` -> ``(N, C)`` one-hot; index C (background) is all zeros."""
    if pred.dim() == target.dim():
        return target
    num_classes = pred.size(1)
    return F.one_hot(target.long(), num_classes=num_classes + 1)[:, :num_classes]


def _shape_weight(weight, loss):
    """A per-prior ``(N,)`` or flattened ``(N * C,)`` weight shaped to the ``(N, C)`` loss."""
    if weight is None or weight.shape == loss.shape:
        return weight
    if weight.size(0) == loss.size(0):
        weight = weight.view(-1, 1)
    elif weight.numel() == loss.numel():
        weight = weight.view(loss.size(0), -1)
    else:
        raise ValueError(f"FocalLoss: weight must have one value per prior ({loss.size(0)}) or per element "
                         f"({loss.numel()}), got shape {tuple(weight.shape)}")
    if weight.dim() != loss.dim():
        raise ValueError(f"FocalLoss: weight of shape {tuple(weight.shape)} does not fit a loss of shape "
                         f"{tuple(loss.shape)}")
    return weight


def _focal_term(prob, target, gamma, alpha):
    """``alpha_t * (1 - p_t) ** gamma``: down-weights examples already classified well."""
    one_minus_pt = (1 - prob) * target + prob * (1 - target)
    return (alpha * target + (1 - alpha) * (1 - target)) * one_minus_pt.pow(gamma)


def py_sigmoid_focal_loss(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction="mean", avg_factor=None):
    """Focal loss on logits ``pred`` ``(N, C)`` and one-hot/soft ``target`` ``(N, C)``."""
    target = target.type_as(pred)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none") * _focal_term(
        pred.sigmoid(), target, gamma, alpha)
    return weight_reduce_loss(loss, _shape_weight(weight, loss), reduction, avg_factor)


def sigmoid_focal_loss(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction="mean", avg_factor=None):
    """Focal loss on logits ``pred`` ``(N, C)`` and labels ``(N,)`` in ``[0, C]`` (C = background)."""
    return py_sigmoid_focal_loss(pred, _labels_to_targets(pred, target), weight, gamma, alpha, reduction,
                                 avg_factor)


def sigmoid_focal_loss_with_probs(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction="mean",
                                  avg_factor=None):
    """Focal loss when ``pred`` already holds probabilities (``FocalLoss(activated=True)``)."""
    target = _labels_to_targets(pred, target).type_as(pred)
    loss = F.binary_cross_entropy(pred, target, reduction="none") * _focal_term(pred, target, gamma, alpha)
    return weight_reduce_loss(loss, _shape_weight(weight, loss), reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Sigmoid focal loss for dense detectors (RetinaNet).

    Targets are class indices ``(N,)`` where the value ``num_classes`` means
    background, or ``(N, C)`` one-hot / soft targets.

    Args:
        use_sigmoid: only the sigmoid form exists; must be True.
        gamma: focusing exponent.
        alpha: weight of positives (``1 - alpha`` for negatives).
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        activated: ``pred`` is already sigmoid-activated probabilities.
    """

    def __init__(self, use_sigmoid=True, gamma=2.0, alpha=0.25, reduction="mean", loss_weight=1.0,
                 activated=False):
        super().__init__()
        if use_sigmoid is not True:
            raise ValueError(f"FocalLoss: only the sigmoid focal loss exists, use_sigmoid must be True, "
                             f"got {use_sigmoid!r}")
        self.use_sigmoid = use_sigmoid
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight
        self.activated = activated

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        """Loss of logits ``pred`` ``(N, C)`` against ``target``; ``weight`` per prior or per element."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        loss_func = sigmoid_focal_loss_with_probs if self.activated else sigmoid_focal_loss
        return self.loss_weight * loss_func(pred, target, weight, gamma=self.gamma, alpha=self.alpha,
                                            reduction=reduction, avg_factor=avg_factor)
