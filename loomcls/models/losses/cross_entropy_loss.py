"""Cross-entropy for index labels, soft labels (mixup, label smoothing) and
independent sigmoids (multi-label)."""

import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from .weighted import resolve_reduction, sample_weight, to_one_hot, weight_reduce_loss


def cross_entropy(pred, label, weight=None, reduction="mean", avg_factor=None, class_weight=None):
    """Softmax cross-entropy with index labels (N,)."""
    loss = F.cross_entropy(pred, label.long(), weight=class_weight, reduction="none")
    return weight_reduce_loss(loss, sample_weight(weight, loss), reduction, avg_factor)


def soft_cross_entropy(pred, label, weight=None, reduction="mean", avg_factor=None, class_weight=None):
    """Cross-entropy against a probability distribution per sample (N, C)."""
    loss = -label * F.log_softmax(pred, dim=-1)
    if class_weight is not None:
        loss = loss * class_weight
    loss = loss.sum(dim=-1)
    return weight_reduce_loss(loss, sample_weight(weight, loss), reduction, avg_factor)


def binary_cross_entropy(pred, label, weight=None, reduction="mean", avg_factor=None,
                         class_weight=None, pos_weight=None):
    """One sigmoid per class; the mean runs over samples and classes."""
    label = to_one_hot(label, pred.shape[-1]) if pred.dim() != label.dim() else label
    loss = F.binary_cross_entropy_with_logits(pred, label.float(), weight=class_weight,
                                              reduction="none", pos_weight=pos_weight)
    return weight_reduce_loss(loss, sample_weight(weight, pred), reduction, avg_factor)


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy loss.

    Args:
        use_sigmoid: one sigmoid per class (multi-label) instead of a softmax.
        use_soft: labels are per-class scores (N, C), e.g. after Mixup. Scores
            of the same shape as the prediction are read this way anyway.
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: factor on the result.
        class_weight: one weight per class.
        pos_weight: weight of positives per class (sigmoid only).
    """

    def __init__(self, use_sigmoid=False, use_soft=False, reduction="mean", loss_weight=1.0,
                 class_weight=None, pos_weight=None):
        super().__init__()
        if use_sigmoid and use_soft:
            raise ValueError("CrossEntropyLoss: use_sigmoid and use_soft cannot both be True")
        self.reduction = resolve_reduction(self, None, reduction)
        self.use_sigmoid = use_sigmoid
        self.use_soft = use_soft
        self.loss_weight = loss_weight
        self.class_weight = class_weight
        self.pos_weight = pos_weight
        if use_sigmoid:
            self.criterion = binary_cross_entropy
        elif use_soft:
            self.criterion = soft_cross_entropy
        else:
            self.criterion = cross_entropy

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None, **kwargs):
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        class_weight = None if self.class_weight is None else cls_score.new_tensor(self.class_weight)
        if self.pos_weight is not None and self.use_sigmoid:
            kwargs["pos_weight"] = cls_score.new_tensor(self.pos_weight)
        criterion = self.criterion
        if criterion is cross_entropy and label.dim() == 2 and label.shape == cls_score.shape:
            criterion = soft_cross_entropy  # per-class scores (Mixup/CutMix) need the soft form
        loss = criterion(cls_score, label, weight, class_weight=class_weight,
                              reduction=reduction, avg_factor=avg_factor, **kwargs)
        return self.loss_weight * loss
