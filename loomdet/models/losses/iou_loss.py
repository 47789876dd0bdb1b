"""IoU-based box regression losses."""

import warnings

import torch

from loomdet.registry import MODELS
from loomdet.structures.bbox import bbox_overlaps
from .smooth_l1_loss import _RegressionLoss, zero_weight_loss
from .weighted import resolve_reduction, weighted_loss

IOU_LOSS_MODES = ("linear", "square", "log")


@weighted_loss
def iou_loss(pred, target, linear=False, mode="log", eps=1e-6):
    """Per-box IoU loss between aligned ``(n, 4)`` boxes.

    ``mode`` 'linear' is ``1 - IoU``, 'square' ``1 - IoU ** 2`` and 'log'
    ``-log(IoU)``; IoU is clamped to ``eps`` first. ``linear=True`` is the
    older spelling of ``mode='linear'``.
    """
    if linear:
        mode = "linear"
    if mode not in IOU_LOSS_MODES:
        raise ValueError(f"iou_loss: mode must be one of {IOU_LOSS_MODES}, got {mode!r}")
    ious = bbox_overlaps(pred, target, is_aligned=True).clamp(min=eps)
    if mode == "linear":
        return 1 - ious
    if mode == "square":
        return 1 - ious ** 2
    return -ious.log()


@weighted_loss
def giou_loss(pred, target, eps=1e-7):
    """Per-box ``1 - GIoU`` between aligned ``(n, 4)`` boxes; non-zero even for disjoint boxes."""
    return 1 - bbox_overlaps(pred, target, mode="giou", is_aligned=True, eps=eps)


def _box_weight(owner, pred, weight):
    """The per-box weight: a per-coordinate ``(n, 4)`` weight is averaged to ``(n,)``."""
    if weight is not None and weight.dim() > 1:
        if weight.shape != pred.shape:
            raise ValueError(f"{type(owner).__name__}: weight must be (n,) or shaped like pred "
                             f"{tuple(pred.shape)}, got {tuple(weight.shape)}")
        weight = weight.mean(-1)
    return weight


@MODELS.register_module()
class IoULoss(_RegressionLoss):
    """IoU loss (UnitBox) between predicted and target ``(x1, y1, x2, y2)`` boxes.

    Args:
        linear: deprecated spelling of ``mode='linear'``.
        eps: lower bound of the IoU.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
        mode: 'linear', 'square' or 'log'.
    """

    def __init__(self, linear=False, eps=1e-6, reduction="mean", loss_weight=1.0, mode="log"):
        super().__init__(reduction, loss_weight)
        if mode not in IOU_LOSS_MODES:
            raise ValueError(f"IoULoss: mode must be one of {IOU_LOSS_MODES}, got {mode!r}")
        if linear:
            warnings.warn("IoULoss: linear=True is deprecated, use mode='linear'", DeprecationWarning, stacklevel=2)
            mode = "linear"
        self.mode = mode
        self.linear = linear
        self.eps = eps

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kwargs):
        """Loss of ``(n, 4)`` boxes ``pred`` against ``target``."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        if weight is not None and reduction != "none" and not torch.any(weight > 0):
            return zero_weight_loss(pred, weight)
        weight = _box_weight(self, pred, weight)
        return self.loss_weight * iou_loss(pred, target, weight, mode=self.mode, eps=self.eps,
                                           reduction=reduction, avg_factor=avg_factor, **kwargs)


@MODELS.register_module()
class GIoULoss(_RegressionLoss):
    """Generalized IoU loss (Rezatofighi et al., 2019).

    Args:
        eps: lower bound of the union and enclosing areas.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, eps=1e-6, reduction="mean", loss_weight=1.0):
        super().__init__(reduction, loss_weight)
        self.eps = eps

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None, **kwargs):
        """Loss of ``(n, 4)`` boxes ``pred`` against ``target``."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        if weight is not None and reduction != "none" and not torch.any(weight > 0):
            return zero_weight_loss(pred, weight)
        weight = _box_weight(self, pred, weight)
        return self.loss_weight * giou_loss(pred, target, weight, eps=self.eps, reduction=reduction,
                                            avg_factor=avg_factor, **kwargs)
