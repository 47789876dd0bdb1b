"""Padding layers by config name: 'zero', 'reflect', 'replicate'."""

from typing import Any, Mapping

import torch.nn as nn

from loomcv.registry import MODELS

from .conv import _layer_class

MODELS.register_module("zero", module=nn.ZeroPad2d)
MODELS.register_module("reflect", module=nn.ReflectionPad2d)
MODELS.register_module("replicate", module=nn.ReplicationPad2d)


def build_padding_layer(cfg: Mapping, *args: Any, **kwargs: Any) -> nn.Module:
    """``build_padding_layer(dict(type='reflect'), 2)`` -> ``nn.ReflectionPad2d(2)``."""
    cls, cfg_args = _layer_class(cfg, "zero", "padding layer")
    return cls(*args, **kwargs, **cfg_args)
