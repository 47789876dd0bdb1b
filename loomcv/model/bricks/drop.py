"""Stochastic depth (DropPath) and a Dropout that takes ``drop_prob`` like MMCV's."""

import torch
import torch.nn as nn

from loomcv.registry import MODELS


def drop_path(x: torch.Tensor, drop_prob: float = 0.0, training: bool = False) -> torch.Tensor:
    """Zero whole samples of a residual branch with probability ``drop_prob``; rescale the rest."""
    if drop_prob == 0.0 or not training:
        return x
    keep = 1 - drop_prob
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = x.new_empty(shape).bernoulli_(keep)
    return x * mask.div_(keep)


@MODELS.register_module()
class DropPath(nn.Module):
    """Per-sample drop of a residual branch (stochastic depth)."""

    def __init__(self, drop_prob: float = 0.1):
        super().__init__()
        if not 0 <= drop_prob < 1:
            raise ValueError(f"DropPath drop_prob must be in [0, 1), got {drop_prob}")
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob}"


@MODELS.register_module()
class Dropout(nn.Dropout):
    """``nn.Dropout`` configured with ``drop_prob`` (MMCV's argument name)."""

    def __init__(self, drop_prob: float = 0.5, inplace: bool = False):
        super().__init__(p=drop_prob, inplace=inplace)
