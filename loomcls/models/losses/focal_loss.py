"""Focal loss (Lin et al., 2017): down-weights well-classified examples."""

import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from .weighted import resolve_reduction, sample_weight, to_one_hot, weight_reduce_loss


def sigmoid_focal_loss(pred, target, weight=None, gamma=2.0, alpha=0.25, reduction="mean", avg_factor=None):
    """``alpha_t * (1 - p_t) ** gamma * BCE`` per element, with sigmoid probabilities."""
    prob = pred.sigmoid()
    target = target.type_as(pred)
    one_minus_pt = (1 - prob) * target + prob * (1 - target)
    focal_weight = (alpha * target + (1 - alpha) * (1 - target)) * one_minus_pt.pow(gamma)
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none") * focal_weight
    return weight_reduce_loss(loss, sample_weight(weight, pred), reduction, avg_factor)


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Sigmoid focal loss; labels may be indices (N,) or per-class targets (N, C)."""

    def __init__(self, gamma=2.0, alpha=0.25, reduction="mean", loss_weight=1.0):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        target = to_one_hot(target, pred.shape[-1])
        return self.loss_weight * sigmoid_focal_loss(pred, target, weight, self.gamma, self.alpha,
                                                     reduction, avg_factor)
