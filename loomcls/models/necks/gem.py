"""Generalized mean pooling (Radenović et al., 2018): a learnable power ``p``
between average pooling (p = 1) and max pooling (p -> inf), as used for retrieval."""

import torch
import torch.nn.functional as F
from torch import nn

from loomcls.registry import MODELS


def gem(x: torch.Tensor, p: torch.Tensor, eps: float = 1e-6, clamp: bool = True) -> torch.Tensor:
    """(mean over H, W of x^p)^(1/p); with ``clamp`` x is first clamped to >= eps (so x^p is defined)."""
    if clamp:
        x = x.clamp(min=eps)
    return F.avg_pool2d(x.pow(p), (x.size(-2), x.size(-1))).pow(1. / p)


@MODELS.register_module()
class GeneralizedMeanPooling(nn.Module):
    """(N, C, H, W) -> (N, C) by generalized mean pooling; takes a tensor or a tuple of them.

    Args:
        p: the initial power, at least 1.
        eps: the clamp floor.
        clamp: clamp the input to ``eps`` before the power.
        p_trainable: learn ``p`` (it is a parameter either way, so checkpoints hold it).
    """

    def __init__(self, p: float = 3., eps: float = 1e-6, clamp: bool = True, p_trainable: bool = True):
        if not p >= 1:
            raise ValueError(f"GeneralizedMeanPooling: p must be >= 1, got {p!r}")
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p, requires_grad=p_trainable)
        self.eps, self.clamp, self.p_trainable = eps, clamp, p_trainable

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"GeneralizedMeanPooling takes (N, C, H, W) feature maps, got shape {tuple(x.shape)}")
        return gem(x, p=self.p, eps=self.eps, clamp=self.clamp).view(x.size(0), -1)

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self._pool(x) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return self._pool(inputs)
        raise TypeError(f"GeneralizedMeanPooling: inputs must be a tensor or a tuple of tensors, "
                        f"got {type(inputs).__name__}")
