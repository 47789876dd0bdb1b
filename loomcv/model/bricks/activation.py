"""Activation layers by config name (ReLU, HSwish, Swish, ...)."""

from typing import Mapping

import torch
import torch.nn as nn


from loomcv.registry import MODELS

from .conv import _layer_class

for _name, _cls in [("ReLU", nn.ReLU), ("LeakyReLU", nn.LeakyReLU), ("PReLU", nn.PReLU),
                    ("RReLU", nn.RReLU), ("ReLU6", nn.ReLU6), ("ELU", nn.ELU),
                    ("Sigmoid", nn.Sigmoid), ("Tanh", nn.Tanh), ("SiLU", nn.SiLU),
                    ("HSwish", nn.Hardswish), ("Softplus", nn.Softplus), ("Mish", nn.Mish)]:
    MODELS.register_module(_name, module=_cls)


@MODELS.register_module()
class GELU(nn.GELU):
    """``nn.GELU`` that also accepts (and ignores) ``inplace`` like the other activations."""

    def __init__(self, approximate: str = "none", inplace: bool = False):
        super().__init__(approximate=approximate)


@MODELS.register_module()
class Swish(nn.Module):
    """x * sigmoid(x), with no parameters (MMCV's name for SiLU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(x)


@MODELS.register_module()
class HSigmoid(nn.Module):
    """Hard sigmoid: clamp((x + bias) / divisor, min_value, max_value)."""

    def __init__(self, bias: float = 3.0, divisor: float = 6.0, min_value: float = 0.0,
                 max_value: float = 1.0):
        super().__init__()
        if divisor == 0:
            raise ValueError("HSigmoid divisor must not be 0")
        self.bias, self.divisor = bias, divisor
        self.min_value, self.max_value = min_value, max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x + self.bias) / self.divisor).clamp(self.min_value, self.max_value)


@MODELS.register_module()
class Clamp(nn.Module):
    """Clamp values into [min, max]."""

    def __init__(self, min: float = -1.0, max: float = 1.0):
        super().__init__()
        self.min, self.max = min, max

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, self.min, self.max)


def build_activation_layer(cfg: Mapping) -> nn.Module:
    """Build the activation layer that ``cfg`` names, e.g. ``dict(type='ReLU', inplace=True)``."""
    cls, args = _layer_class(cfg, "ReLU", "activation layer")
    return cls(**args)
