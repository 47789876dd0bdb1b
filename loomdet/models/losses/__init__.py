"""Detection losses; each registered in loomdet's MODELS."""

from .cross_entropy_loss import CrossEntropyLoss, binary_cross_entropy, cross_entropy, mask_cross_entropy
from .focal_loss import FocalLoss, py_sigmoid_focal_loss, sigmoid_focal_loss, sigmoid_focal_loss_with_probs
from .iou_loss import GIoULoss, IoULoss, giou_loss, iou_loss
from .mse_loss import MSELoss, mse_loss
from .smooth_l1_loss import L1Loss, SmoothL1Loss, l1_loss, smooth_l1_loss
from .weighted import reduce_loss, weight_reduce_loss, weighted_loss

__all__ = [
    "CrossEntropyLoss", "cross_entropy", "binary_cross_entropy", "mask_cross_entropy", "FocalLoss",
    "sigmoid_focal_loss", "py_sigmoid_focal_loss", "sigmoid_focal_loss_with_probs", "IoULoss", "GIoULoss",
    "iou_loss", "giou_loss", "MSELoss", "mse_loss", "SmoothL1Loss", "L1Loss", "smooth_l1_loss", "l1_loss",
    "reduce_loss", "weight_reduce_loss", "weighted_loss",
]
