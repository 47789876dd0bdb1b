"""Smooth L1 (Huber-like) and L1 losses for box regression."""

import torch
import torch.nn as nn

from loomdet.registry import MODELS
from .weighted import resolve_reduction, weighted_loss


@weighted_loss
def smooth_l1_loss(pred, target, beta=1.0):
    """Quadratic below ``beta`` (``0.5 * d ** 2 / beta``), linear above (``d - 0.5 * beta``)."""
    if beta <= 0:
        raise ValueError(f"smooth_l1_loss: beta must be > 0, got {beta!r}")
    if target.numel() == 0:
        return pred.sum() * 0
    if pred.size() != target.size():
        raise ValueError(f"smooth_l1_loss: pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


@weighted_loss
def l1_loss(pred, target):
    """Element-wise ``|pred - target|``."""
    if target.numel() == 0:
        return pred.sum() * 0
    if pred.size() != target.size():
        raise ValueError(f"l1_loss: pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    return torch.abs(pred - target)


def zero_weight_loss(pred, weight):
    """A zero loss that still depends on ``pred``, for batches whose weights are all zero.

    Returning ``(pred * weight).sum()`` keeps every parameter in the graph,
    which distributed training needs, without computing the loss itself (an
    ``avg_factor`` of 0 would otherwise make it 0 / eps of garbage targets).
    Only for reduced losses: with 'none' the element-wise zeros are returned.
    """
    if pred.dim() == weight.dim() + 1:
        weight = weight.unsqueeze(1)
    return (pred * weight).sum()


class _RegressionLoss(nn.Module):
    def __init__(self, reduction="mean", loss_weight=1.0):
        super().__init__()
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight


@MODELS.register_module()
class SmoothL1Loss(_RegressionLoss):
    """Smooth L1 loss.

    Args:
        beta: where the quadratic part turns linear.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, beta=1.0, reduction="mean", loss_weight=1.0):
        super().__init__(reduction, loss_weight)
        if beta <= 0:
            raise ValueError(f"SmoothL1Loss: beta must be > 0, got {beta!r}")
        self.beta = beta

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kwargs):
        """Loss of ``pred`` against ``target`` (same shape), weighted element-wise."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        if weight is not None and reduction != "none" and not torch.any(weight > 0):
            return zero_weight_loss(pred, weight)
        return self.loss_weight * smooth_l1_loss(pred, target, weight, beta=self.beta, reduction=reduction,
                                                 avg_factor=avg_factor, **kwargs)


@MODELS.register_module()
class L1Loss(_RegressionLoss):
    """L1 loss.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        """Loss of ``pred`` against ``target`` (same shape), weighted element-wise."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        if weight is not None and reduction != "none" and not torch.any(weight > 0):
            return zero_weight_loss(pred, weight)
        return self.loss_weight * l1_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
