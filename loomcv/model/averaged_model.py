"""Averaged copies of a model for EMA evaluation (used by an EMA hook).

The averaged model keeps a deep copy in ``.module`` and a ``steps`` buffer, so
its state dict reads ``steps, module.<key>...``.
"""

import copy
from typing import List, Optional

import torch
import torch.nn as nn

from loomcv.registry import MODELS


class BaseAveragedModel(nn.Module):
    """Average parameters (and buffers with ``update_buffers``) every ``interval`` updates."""

    def __init__(self, model: nn.Module, interval: int = 1, device: Optional[torch.device] = None,
                 update_buffers: bool = False):
        super().__init__()
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f"{type(self).__name__}: interval must be an int >= 1, got {interval!r}")
        self.module = copy.deepcopy(model).requires_grad_(False)
        self.interval, self.update_buffers = interval, update_buffers
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("steps", torch.tensor(0, dtype=torch.long, device=device))
        self._averaged = self._tensors(self.module)

    def _tensors(self, model: nn.Module) -> List[torch.Tensor]:
        """Tensors to average: float parameters (and float buffers with update_buffers)."""
        tensors = list(model.state_dict(keep_vars=True).values()) if self.update_buffers else list(
            model.parameters())
        return [t.data for t in tensors if t.is_floating_point()]

    def avg_func(self, averaged: List[torch.Tensor], source: List[torch.Tensor], steps: int) -> None:
        raise NotImplementedError

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """Fold ``model``'s current weights into the average (a plain copy on the first call)."""
        source = self._tensors(model)
        if len(source) != len(self._averaged):
            raise ValueError(f"{type(self).__name__}: the model has {len(source)} tensors to "
                             f"average but the averaged copy has {len(self._averaged)}")
        device = self._averaged[0].device if self._averaged else None
        source = [s.to(device) for s in source]
        steps = int(self.steps)  # a CPU scalar: no device sync
        if steps == 0:
            torch._foreach_copy_(self._averaged, source)
        elif steps % self.interval == 0:
            self.avg_func(self._averaged, source, steps)
        if not self.update_buffers:  # keep BN statistics etc. in step with the model
            for avg, src in zip(self.module.buffers(), model.buffers()):
                avg.copy_(src.to(avg.device))
        self.steps += 1

    def _apply(self, fn, recurse: bool = True):
        out = super()._apply(fn, recurse)
        self._averaged = self._tensors(self.module)
        return out


@MODELS.register_module()
class ExponentialMovingAverage(BaseAveragedModel):
    """``avg = (1 - momentum) * avg + momentum * param`` (momentum is the weight of the new value)."""

    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1,
                 device: Optional[torch.device] = None, update_buffers: bool = False):
        super().__init__(model, interval, device, update_buffers)
        if not 0.0 < momentum < 1.0:
            raise ValueError(f"ExponentialMovingAverage: momentum must be in (0, 1), got {momentum}")
        self.momentum = momentum

    def avg_func(self, averaged, source, steps):
        torch._foreach_lerp_(averaged, source, self.momentum)


@MODELS.register_module()
class MomentumAnnealingEMA(ExponentialMovingAverage):
    """EMA whose momentum starts high and anneals: ``max(momentum, gamma / (gamma + steps))``."""

    def __init__(self, model: nn.Module, momentum: float = 0.0002, gamma: int = 100,
                 interval: int = 1, device: Optional[torch.device] = None,
                 update_buffers: bool = False):
        super().__init__(model, momentum, interval, device, update_buffers)
        if gamma <= 0:
            raise ValueError(f"MomentumAnnealingEMA: gamma must be > 0, got {gamma}")
        self.gamma = gamma

    def avg_func(self, averaged, source, steps):
        torch._foreach_lerp_(averaged, source, max(self.momentum, self.gamma / (self.gamma + steps)))


@MODELS.register_module()
class StochasticWeightAverage(BaseAveragedModel):
    """Stochastic Weight Averaging: the plain mean of the weights seen at every ``interval``-th
    update (``avg += (param - avg) / (n + 1)`` for the n-th average taken)."""

    def avg_func(self, averaged, source, steps):
        torch._foreach_lerp_(averaged, source, 1.0 / float(steps // self.interval + 1))
