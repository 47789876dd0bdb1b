"""Normalization layers by config name, named the way MMCV names them in state dicts.

``build_norm_layer(dict(type='BN'), 64, postfix=1)`` returns ``('bn1', BatchNorm2d(64))``:
the name is an abbreviation of the layer kind plus the postfix, so that modules
that store the layer under that name produce MMCV/MMPretrain state-dict keys.
"""

import inspect
from typing import Mapping, Tuple, Union

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from loomcv.registry import MODELS

from .conv import _layer_class

MODELS.register_module(["BN", "BN2d"], module=nn.BatchNorm2d)
MODELS.register_module("BN1d", module=nn.BatchNorm1d)
MODELS.register_module("BN3d", module=nn.BatchNorm3d)
MODELS.register_module(["SyncBN", "MMSyncBN"], module=nn.SyncBatchNorm)
MODELS.register_module("GN", module=nn.GroupNorm)
MODELS.register_module("LN", module=nn.LayerNorm)
MODELS.register_module(["IN", "IN2d"], module=nn.InstanceNorm2d)
MODELS.register_module("IN1d", module=nn.InstanceNorm1d)
MODELS.register_module("IN3d", module=nn.InstanceNorm3d)


def infer_abbr(cls: type) -> str:
    """'bn', 'gn', 'ln', 'in' or a class's own ``_abbr_``: the stem of the attribute name."""
    if not inspect.isclass(cls):
        raise TypeError(f"expected a class, got {type(cls).__name__}")
    if hasattr(cls, "_abbr_"):
        return cls._abbr_
    if issubclass(cls, _InstanceNorm):  # an InstanceNorm is also a _NormBase, test it first
        return "in"
    if issubclass(cls, _BatchNorm):
        return "bn"
    if issubclass(cls, nn.GroupNorm):
        return "gn"
    if issubclass(cls, nn.LayerNorm):
        return "ln"
    name = cls.__name__.lower()
    for word, abbr in (("batch", "bn"), ("group", "gn"), ("layer", "ln"), ("instance", "in")):
        if word in name:
            return abbr
    return "norm_layer"


def build_norm_layer(cfg: Mapping, num_features: int,
                     postfix: Union[int, str] = "") -> Tuple[str, nn.Module]:
    """Build a norm layer; return ``(abbr + postfix, layer)``.

    ``requires_grad=False`` in ``cfg`` freezes the layer's affine parameters;
    ``eps`` defaults to 1e-5; GN needs ``num_groups``.
    """
    if cfg is None:
        raise TypeError("build_norm_layer needs a norm config such as dict(type='BN'), got None")
    cls, args = _layer_class(cfg, "BN", "norm layer")
    requires_grad = args.pop("requires_grad", True)
    args.setdefault("eps", 1e-5)
    if issubclass(cls, nn.GroupNorm):
        if "num_groups" not in args:
            raise KeyError(f"GN config needs 'num_groups', got {dict(cfg)!r}")
        layer = cls(num_channels=num_features, **args)
    else:
        layer = cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return infer_abbr(cls) + str(postfix), layer


def is_norm(module: nn.Module) -> bool:
    """Whether ``module`` is a batch/group/layer/instance norm layer."""
    return isinstance(module, (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm))
