"""Mean squared error, as YOLOv3 uses for its width/height targets."""

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomdet.registry import MODELS
from .weighted import resolve_reduction, weighted_loss


@weighted_loss
def mse_loss(pred, target):
    """Element-wise ``(pred - target) ** 2``."""
    if pred.size() != target.size():
        raise ValueError(f"mse_loss: pred and target shapes differ: {tuple(pred.shape)} vs {tuple(target.shape)}")
    return F.mse_loss(pred, target, reduction="none")


@MODELS.register_module()
class MSELoss(nn.Module):
    """Squared error loss.

    Args:
        reduction: 'none', 'mean' or 'sum'.
        loss_weight: multiplier of the loss.
    """

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = resolve_reduction(self, None, reduction)
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, weight=None, avg_factor=None,
                reduction_override=None) -> torch.Tensor:
        """Loss of ``pred`` against ``target`` (same shape); ``weight`` broadcasts element-wise."""
        reduction = resolve_reduction(self, reduction_override, self.reduction)
        return self.loss_weight * mse_loss(pred, target, weight, reduction=reduction, avg_factor=avg_factor)
