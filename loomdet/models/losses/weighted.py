"""Loss weighting and reduction, shared with loomcls.

Detection normalizes losses by counts that can be zero (an image whose
labels are all ignored, a batch without positives), so the ``avg_factor``
mean divides by ``avg_factor + eps`` as MMDetection does: 0 / (0 + eps) is 0,
not NaN. Everything else is loomcls' helper, imported, not rewritten.
"""

import functools

import torch

from loomcls.models.losses.weighted import REDUCTIONS, reduce_loss, resolve_reduction
from loomcls.models.losses.weighted import weight_reduce_loss as _cls_weight_reduce_loss

#: Added to ``avg_factor`` before dividing (float32 machine epsilon).
AVG_FACTOR_EPS = torch.finfo(torch.float32).eps


def weight_reduce_loss(loss, weight=None, reduction="mean", avg_factor=None):
    """Multiply an element-wise ``loss`` by ``weight`` (broadcast), then reduce.

    With ``avg_factor``, 'mean' is ``sum / (avg_factor + eps)`` and 'none'
    returns the weighted loss; 'sum' with ``avg_factor`` is an error.
    """
    if avg_factor is not None and reduction == "mean":
        avg_factor = avg_factor + AVG_FACTOR_EPS
    return _cls_weight_reduce_loss(loss, weight, reduction, avg_factor)


def weighted_loss(loss_func):
    """Give ``loss_func(pred, target, **kwargs) -> element-wise loss`` the
    ``weight``, ``reduction`` and ``avg_factor`` arguments of every loss.
    """

    @functools.wraps(loss_func)
    def wrapper(pred, target, weight=None, reduction="mean", avg_factor=None, **kwargs):
        return weight_reduce_loss(loss_func(pred, target, **kwargs), weight, reduction, avg_factor)

    return wrapper


__all__ = ["REDUCTIONS", "AVG_FACTOR_EPS", "reduce_loss", "weight_reduce_loss", "weighted_loss",
           "resolve_reduction"]
