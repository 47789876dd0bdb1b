"""Softmax, sigmoid and mask cross-entropy losses with detection's conventions."""

import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomdet.registry import MODELS
from .weighted import resolve_reduction, weight_reduce_loss


def cross_entropy(pred, label, weight=None, reduction="mean", avg_factor=None, class_weight=None,
                  ignore_index=-100, avg_non_ignore=False):
    """Softmax cross entropy of ``pred`` ``(N, C)`` against class indices ``label`` ``(N,)``.

    Ignored labels contribute 0; with ``avg_non_ignore`` the 'mean' divides by
    the number of non-ignored labels (as ``F.cross_entropy`` does) instead of N.
    """
    ignore_index = -100 if ignore_index is None else ignore_index
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction="none", ignore_index=ignore_index)
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = label.numel() - (label == ignore_index).sum().item()
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


def _expand_onehot_labels(labels, label_weights, label_channels, ignore_index):
    """Indices ``(N,)`` -> one-hot ``(N, C)``, element weights and the valid mask.

    The background index C (and anything >= C) gives an all-zero row: every
    class is a negative for it. Ignored or negative labels get weight 0.
    """
    bin_labels = labels.new_full((labels.size(0), label_channels), 0)
    valid_mask = (labels >= 0) & (labels != ignore_index)
    inds = torch.nonzero(valid_mask & (labels < label_channels), as_tuple=False).squeeze(1)
    if inds.numel() > 0:
        bin_labels[inds, labels[inds]] = 1
    valid_mask = valid_mask.view(-1, 1).expand(labels.size(0), label_channels).float()
    if label_weights is None:
        bin_label_weights = valid_mask
    else:
        bin_label_weights = label_weights.view(-1, 1).repeat(1, label_channels) * valid_mask
    return bin_labels, bin_label_weights, valid_mask


def binary_cross_entropy(pred, label, weight=None, reduction="mean", avg_factor=None, class_weight=None,
                         ignore_index=-100, avg_non_ignore=False):
    """Sigmoid cross entropy of logits ``pred`` ``(N, C)``.

    ``label`` is either class indices ``(N,)`` (expanded to one-hot, index C
    meaning background) or targets shaped like ``pred``. ``class_weight`` is
    the positive-example weight per class (``pos_weight``).
    """
    ignore_index = -100 if ignore_index is None else ignore_index
    if pred.dim() != label.dim():
        label, weight, valid_mask = _expand_onehot_labels(label, weight, pred.size(-1), ignore_index)
    else:
        valid_mask = ((label >= 0) & (label != ignore_index)).float()
        weight = valid_mask if weight is None else weight * valid_mask
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = valid_mask.sum().item()
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), pos_weight=class_weight, reduction="none")
    return weight_reduce_loss(loss, weight.float(), reduction=reduction, avg_factor=avg_factor)


def mask_cross_entropy(pred, target, label, reduction="mean", avg_factor=None, class_weight=None,
                       ignore_index=None, **kwargs):
    """Mean sigmoid cross entropy of per-class mask logits ``pred`` ``(N, C, H, W)``.

    Only the channel of each RoI's class ``label`` ``(N,)`` is compared with
    its mask ``target`` ``(N, H, W)``. Returns a 1-element tensor.
    """
    if ignore_index is not None:
        raise ValueError(f"mask_cross_entropy: ignore_index is not supported, got {ignore_index!r}")
    if reduction != "mean" or avg_factor is not None:
        raise ValueError(f"mask_cross_entropy: only reduction='mean' without avg_factor is supported, got "
                         f"reduction={reduction!r}, avg_factor={avg_factor!r}")
    inds = torch.arange(0, pred.size(0), dtype=torch.long, device=pred.device)
    pred_slice = pred[inds, label].squeeze(1)
    return F.binary_cross_entropy_with_logits(pred_slice, target, weight=class_weight, reduction="mean")[None]


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss: softmax (default), sigmoid (``use_sigmoid``) or mask (``use_mask``).

    Args:
        use_sigmoid: per-class sigmoid BCE, as RPN objectness uses.
        use_mask: per-RoI mask BCE of the RoI's class channel (Mask R-CNN).
        reduction: 'none', 'mean' or 'sum'.
        class_weight: weight per class (softmax) or positive weight per class
            (sigmoid).
        ignore_index: label value that contributes no loss; None uses -100.
        loss_weight: multiplier of the loss.
        avg_non_ignore: average over non-ignored labels only (what
            ``torch.nn.CrossEntropyLoss`` does); off by default as in MMDetection.
    """

    def __init__(self, use_sigmoid=False, use_mask=False, reduction="mean", class_weight=None, ignore_index=None,
                 loss_weight=1.0, avg_non_ignore=False):
        super().__init__()
        if use_sigmoid and use_mask:
            raise ValueError("CrossEntropyLoss: use_sigmoid and use_mask cannot both be True")
        self.use_sigmoid = use_sigmoid
        self.use_mask = use_mask
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight
        self.class_weight = class_weight
        self.ignore_index = ignore_index
        self.avg_non_ignore = avg_non_ignore
        if ignore_index is not None and not avg_non_ignore and self.reduction == "mean":
            warnings.warn("CrossEntropyLoss: with ignore_index set and avg_non_ignore=False, the mean divides by "
                          "all labels, ignored ones included; set avg_non_ignore=True to average over the "
                          "non-ignored labels as torch.nn.CrossEntropyLoss does", stacklevel=2)
        if use_sigmoid:
            self.cls_criterion = binary_cross_entropy
        elif use_mask:
            self.cls_criterion = mask_cross_entropy
        else:
            self.cls_criterion = cross_entropy

    def extra_repr(self):
        return f"avg_non_ignore={self.avg_non_ignore}"

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None, ignore_index=None,
                **kwargs):
        """Loss of ``cls_score`` against ``label``; for ``use_mask`` the third argument is the RoI labels."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        if ignore_index is None:
            ignore_index = self.ignore_index
        class_weight = None
        if self.class_weight is not None:
            class_weight = cls_score.new_tensor(self.class_weight, device=cls_score.device)
        return self.loss_weight * self.cls_criterion(
            cls_score, label, weight, class_weight=class_weight, reduction=reduction, avg_factor=avg_factor,
            ignore_index=ignore_index, avg_non_ignore=self.avg_non_ignore, **kwargs)
