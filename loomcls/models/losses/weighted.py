"""Per-element loss weighting and reduction shared by every loss.

``weighted_loss`` turns a function that returns an element-wise loss into one
that also accepts ``weight``, ``reduction`` and ``avg_factor``, so a new loss
only has to write its formula (the MMClassification 0.x tutorial's "add a new loss").
"""

import functools

import torch

from loomcv.validation import check_choice

REDUCTIONS = ("none", "mean", "sum")


def reduce_loss(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    """Apply ``reduction`` ('none', 'mean' or 'sum') to an element-wise loss."""
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    check_choice("reduce_loss", "reduction", reduction, REDUCTIONS)
    raise AssertionError("unreachable")  # every valid reduction returned above


def weight_reduce_loss(loss, weight=None, reduction="mean", avg_factor=None):
    """Multiply by ``weight`` (broadcast), then reduce.

    With ``avg_factor`` the mean divides the sum by it instead of the element
    count (e.g. the number of valid samples); it makes no sense with 'sum'.
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        return reduce_loss(loss, reduction)
    if reduction == "mean":
        return loss.sum() / avg_factor
    if reduction == "none":
        return loss
    raise ValueError(f"avg_factor can only be used with reduction 'mean' or 'none', got {reduction!r}")


def weighted_loss(loss_func):
    """Decorate ``loss_func(pred, target, **kwargs) -> element-wise loss``.

    The decorated function takes ``(pred, target, weight=None,
    reduction='mean', avg_factor=None, **kwargs)``.
    """

    @functools.wraps(loss_func)
    def wrapper(pred, target, weight=None, reduction="mean", avg_factor=None, **kwargs):
        loss = loss_func(pred, target, **kwargs)
        return weight_reduce_loss(loss, weight, reduction, avg_factor)

    return wrapper


def resolve_reduction(owner, reduction_override, default) -> str:
    """The reduction to use: ``reduction_override`` if given, else ``default``; either must be valid."""
    name = "reduction_override" if reduction_override else "reduction"
    return check_choice(owner, name, reduction_override or default, REDUCTIONS)


def to_one_hot(target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Index labels of shape (N,) or (N, 1) -> (N, num_classes); scores pass through."""
    if target.dim() == 1 or (target.dim() == 2 and target.shape[1] == 1 and num_classes != 1):
        return torch.nn.functional.one_hot(target.reshape(-1).long(), num_classes)
    return target


def sample_weight(weight, pred):
    """A per-sample weight (N,) shaped to broadcast over element-wise losses of ``pred``."""
    if weight is None:
        return None
    if weight.dim() != 1:
        raise ValueError(f"weight must be one value per sample (1-D), got shape {tuple(weight.shape)}")
    weight = weight.float()
    return weight.reshape(-1, 1) if pred.dim() > 1 else weight
