"""Convolution layers by config name (``dict(type='Conv2d')``), as MMCV configs spell them."""

import math
from typing import Any, Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.errors import RegistryError
from loomcv.registry import MODELS
from loomcv.registry.build import unknown_type_message

MODELS.register_module("Conv1d", module=nn.Conv1d)
MODELS.register_module(["Conv2d", "Conv"], module=nn.Conv2d)
MODELS.register_module("Conv3d", module=nn.Conv3d)


def _layer_class(cfg: Optional[Mapping], default: str, what: str):
    """The registered class a brick config names, with a clear error for bad input."""
    if cfg is None:
        cfg = dict(type=default)
    if not isinstance(cfg, Mapping):
        raise TypeError(f"{what} config must be a dict like dict(type={default!r}), got {cfg!r}")
    if "type" not in cfg:
        raise KeyError(f"{what} config needs a 'type' key, got {dict(cfg)!r}")
    args = dict(cfg)
    layer_type = args.pop("type")
    if not isinstance(layer_type, str):
        return layer_type, args
    cls = MODELS.get(layer_type)
    if cls is None:
        raise RegistryError(f"unknown {what} type: " + unknown_type_message(MODELS, layer_type, cfg))
    return cls, args


def build_conv_layer(cfg: Optional[Mapping], *args: Any, **kwargs: Any) -> nn.Module:
    """``cfg`` (default ``dict(type='Conv2d')``) plus the layer's positional/keyword arguments."""
    cls, cfg_args = _layer_class(cfg, "Conv2d", "conv layer")
    return cls(*args, **kwargs, **cfg_args)


@MODELS.register_module()
class Conv2dAdaptivePadding(nn.Conv2d):
    """A Conv2d with TensorFlow's 'SAME' padding: the input is zero-padded (the odd pixel
    at the bottom/right) so that the output has ``ceil(input / stride)`` pixels.

    The padding depends on the input size, so it is computed per call; the
    ``padding`` argument is accepted for signature compatibility and ignored.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel_size, stride, 0, dilation, groups, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride, dilation in zip(x.shape[-2:], self.weight.shape[-2:], self.stride, self.dilation):
            total = max((math.ceil(size / stride) - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
