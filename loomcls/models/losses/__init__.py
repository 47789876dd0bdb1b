"""Classification losses; each registered in loomcls' MODELS."""

from .asymmetric_loss import AsymmetricLoss, asymmetric_loss
from .cross_entropy_loss import CrossEntropyLoss, binary_cross_entropy, cross_entropy, soft_cross_entropy
from .focal_loss import FocalLoss, sigmoid_focal_loss
from .label_smooth_loss import LabelSmoothLoss
from .weighted import reduce_loss, weight_reduce_loss, weighted_loss

__all__ = [
    "CrossEntropyLoss", "cross_entropy", "soft_cross_entropy", "binary_cross_entropy", "LabelSmoothLoss",
    "FocalLoss", "sigmoid_focal_loss", "AsymmetricLoss", "asymmetric_loss", "weighted_loss",
    "weight_reduce_loss", "reduce_loss",
]
