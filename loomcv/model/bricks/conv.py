"""Convolution layers by config name (``dict(type='Conv2d')``), as MMCV configs spell them."""

from typing import Any, Mapping, Optional

import torch.nn as nn

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
