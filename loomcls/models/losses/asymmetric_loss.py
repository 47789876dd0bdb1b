"""Asymmetric loss for multi-label classification (Ridnik et al., 2021)."""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from .weighted import resolve_reduction, sample_weight, to_one_hot, weight_reduce_loss


def asymmetric_loss(pred, target, weight=None, gamma_pos=1.0, gamma_neg=4.0, clip=0.05, reduction="mean",
                    avg_factor=None, use_sigmoid=True, eps=1e-8):
    """Focal-like weights with separate exponents for positives and negatives;
    negatives' probabilities are shifted down by ``clip`` (easy negatives count 0)."""
    prob = pred.sigmoid() if use_sigmoid else pred.softmax(dim=-1)
    target = target.type_as(pred)
    if clip and clip > 0:
        pt = (1 - prob + clip).clamp(max=1) * (1 - target) + prob * target
    else:
        pt = (1 - prob) * (1 - target) + prob * target
    asym_weight = (1 - pt).pow(gamma_pos * target + gamma_neg * (1 - target))
    loss = -torch.log(pt.clamp(min=eps)) * asym_weight
    return weight_reduce_loss(loss, sample_weight(weight, pred), reduction, avg_factor)


@MODELS.register_module()
class AsymmetricLoss(nn.Module):
    """Asymmetric loss; labels may be indices (N,) or multi-hot targets (N, C)."""

    def __init__(self, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, reduction="mean", loss_weight=1.0,
                 use_sigmoid=True, eps=1e-8):
        super().__init__()
        self.gamma_pos = gamma_pos
        self.gamma_neg = gamma_neg
        self.clip = clip
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight
        self.use_sigmoid = use_sigmoid
        self.eps = eps

    def forward(self, pred, target, weight=None, avg_factor=None, reduction_override=None):
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        target = to_one_hot(target, pred.shape[-1])
        return self.loss_weight * asymmetric_loss(
            pred, target, weight, gamma_pos=self.gamma_pos, gamma_neg=self.gamma_neg, clip=self.clip,
            reduction=reduction, avg_factor=avg_factor, use_sigmoid=self.use_sigmoid, eps=self.eps)
