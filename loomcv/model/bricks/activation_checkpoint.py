"""Activation checkpointing for a block's forward (the ``with_cp`` option of backbones)."""

from typing import Any, Callable

import torch
from torch.utils.checkpoint import checkpoint


def activation_checkpoint(fn: Callable[..., Any], *inputs: Any, enabled: bool = True) -> Any:
    """``fn(*inputs)``, recomputing its activations during backward instead of keeping them.

    Checkpointing trades compute for memory, and only pays off when a backward
    pass will run: with ``enabled=False`` or when no input tensor requires grad
    (inference, frozen stages) ``fn`` runs plainly. Uses PyTorch's non-reentrant
    checkpoint, which also works when the inputs themselves need no grad but
    the parameters inside ``fn`` do.
    """
    if enabled and any(isinstance(x, torch.Tensor) and x.requires_grad for x in inputs):
        return checkpoint(fn, *inputs, use_reentrant=False)
    return fn(*inputs)
