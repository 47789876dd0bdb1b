"""Build an optim wrapper from config, with per-parameter settings (``paramwise_cfg``).

``paramwise_cfg`` keys: ``custom_keys`` (``{'backbone': dict(lr_mult=0.1,
decay_mult=0.9)}``; the longest key contained in a parameter's full name
wins), ``bias_lr_mult``, ``bias_decay_mult``, ``norm_decay_mult``,
``dwconv_decay_mult``, ``flat_decay_mult``, ``dcn_offset_lr_mult`` and
``bypass_duplicate``. For weight decay the first rule that applies is used:
norm layer, then bias, then depthwise conv, then any other 1-D parameter.
"""

import copy
import inspect
import logging
import warnings
from typing import Any, Dict, List, Mapping, Optional

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from loomcv.errors import ConfigError, RegistryError, did_you_mean
from loomcv.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from loomcv.registry.build import unknown_type_message

from .optim_wrapper import OptimWrapper

PARAMWISE_KEYS = ("custom_keys", "bias_lr_mult", "bias_decay_mult", "norm_decay_mult",
                  "dwconv_decay_mult", "flat_decay_mult", "dcn_offset_lr_mult", "bypass_duplicate")
_DECAY_KEYS = ("bias_decay_mult", "norm_decay_mult", "dwconv_decay_mult", "flat_decay_mult")
_DCN_NAMES = ("DeformConv2d", "ModulatedDeformConv2d", "DeformConv2dPack",
              "ModulatedDeformConv2dPack")
_NORMS = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm)


def _unwrap(model: nn.Module) -> nn.Module:
    from loomcv.model.wrappers import unwrap_model

    return unwrap_model(model)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DefaultOptimWrapperConstructor:
    """``optim_wrapper_cfg`` is the config's ``optim_wrapper`` minus ``paramwise_cfg``/``constructor``."""

    def __init__(self, optim_wrapper_cfg: Mapping, paramwise_cfg: Optional[Mapping] = None):
        if not isinstance(optim_wrapper_cfg, Mapping):
            raise TypeError(f"optim_wrapper_cfg must be a dict, got {type(optim_wrapper_cfg).__name__}")
        if "optimizer" not in optim_wrapper_cfg:
            raise ConfigError("optim_wrapper needs an 'optimizer' entry, e.g. optim_wrapper=dict("
                              f"optimizer=dict(type='SGD', lr=0.1)); got keys {sorted(optim_wrapper_cfg)}")
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))
        self.optimizer_cfg = dict(self.optim_wrapper_cfg.pop("optimizer"))
        self.paramwise_cfg = dict(paramwise_cfg or {})
        self.base_lr = self.optimizer_cfg.get("lr")
        self.base_wd = self.optimizer_cfg.get("weight_decay")
        self._validate()

    def _validate(self) -> None:
        if "_delete" in self.paramwise_cfg:
            # MMPretrain's Twins configs misspell `_delete_`; MMEngine keeps the key and never reads it
            warnings.warn("paramwise_cfg: `_delete` is not a setting (did you mean `_delete_`, which replaces "
                          "the inherited dict when configs merge?); ignored, as MMEngine ignores it",
                          UserWarning, stacklevel=3)
            self.paramwise_cfg.pop("_delete")
        for key in self.paramwise_cfg:
            if key not in PARAMWISE_KEYS:
                raise ConfigError(f"unknown paramwise_cfg key {key!r}; valid keys: "
                                  f"{', '.join(PARAMWISE_KEYS)}.{did_you_mean(key, PARAMWISE_KEYS)}")
        custom = self.paramwise_cfg.get("custom_keys", {})
        if not isinstance(custom, Mapping):
            raise ConfigError(f"paramwise_cfg.custom_keys must be a dict of name -> dict(lr_mult=.., "
                              f"decay_mult=..), got {type(custom).__name__}")
        for key, value in custom.items():
            if not isinstance(value, Mapping):
                raise ConfigError(f"paramwise_cfg.custom_keys[{key!r}] must be a dict, got {value!r}")
        if self.base_wd is None:
            needs = [k for k in _DECAY_KEYS if k in self.paramwise_cfg]
            needs += [f"custom_keys[{k!r}].decay_mult" for k, v in custom.items() if "decay_mult" in v]
            if needs:
                raise ConfigError(f"paramwise_cfg sets {', '.join(needs)} but the optimizer has no "
                                  "weight_decay to multiply; add weight_decay to the optimizer config")
        if (self.paramwise_cfg.get("bias_lr_mult") is not None
                or any("lr_mult" in v for v in custom.values())) and self.base_lr is None:
            raise ConfigError("paramwise_cfg sets an lr_mult but the optimizer config has no 'lr'")

    def __call__(self, model: nn.Module) -> OptimWrapper:
        model = _unwrap(model)
        optimizer_cfg = dict(self.optimizer_cfg)
        if self.paramwise_cfg:
            groups: List[Dict[str, Any]] = []
            self.add_params(groups, model)
            optimizer_cfg["params"] = groups
        else:
            optimizer_cfg["params"] = model.parameters()
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = "",
                   is_dcn_module: bool = False, _seen: Optional[Dict[int, str]] = None) -> None:
        """Append one param group per parameter of ``module`` (recursively) to ``params``."""
        seen = {} if _seen is None else _seen
        cfg = self.paramwise_cfg
        custom = cfg.get("custom_keys", {})
        keys = sorted(custom, key=lambda k: (-len(k), k))
        is_norm = isinstance(module, _NORMS)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            full_name = f"{prefix}.{name}" if prefix else name
            if id(param) in seen:
                if cfg.get("bypass_duplicate", False):
                    logging.getLogger("loomcv").warning(
                        "%s is the same parameter as %s; skipped (bypass_duplicate)",
                        full_name, seen[id(param)])
                    continue
                raise ValueError(f"parameter {full_name} is the same tensor as {seen[id(param)]}; "
                                 "set paramwise_cfg=dict(bypass_duplicate=True) to skip duplicates")
            seen[id(param)] = full_name
            group: Dict[str, Any] = {"params": [param]}
            params.append(group)
            if not param.requires_grad:
                continue
            key = next((k for k in keys if k in full_name), None)
            if key is not None:
                rule = dict(custom[key])
                group["lr"] = self.base_lr * rule.pop("lr_mult", 1.0)
                if self.base_wd is not None:
                    group["weight_decay"] = self.base_wd * rule.pop("decay_mult", 1.0)
                group.update(rule)  # any other optimizer field set verbatim
                continue
            if name == "bias" and not (is_norm or is_dcn_module) and \
                    cfg.get("bias_lr_mult") is not None:
                group["lr"] = self.base_lr * cfg["bias_lr_mult"]
            if is_dcn_module and "conv_offset" in prefix and isinstance(module, nn.Conv2d) and \
                    cfg.get("dcn_offset_lr_mult") is not None:
                group["lr"] = self.base_lr * cfg["dcn_offset_lr_mult"]
            if self.base_wd is None:
                continue
            if is_norm:
                mult = cfg.get("norm_decay_mult")
            elif name == "bias" and not is_dcn_module:
                mult = cfg.get("bias_decay_mult")
            elif is_dwconv:
                mult = cfg.get("dwconv_decay_mult")
            elif param.ndim == 1 and not is_dcn_module:
                mult = cfg.get("flat_decay_mult")
            else:
                mult = None
            if mult is not None:
                group["weight_decay"] = self.base_wd * mult
        for child_name, child in module.named_children():
            child_prefix = f"{prefix}.{child_name}" if prefix else child_name
            self.add_params(params, child, child_prefix,
                            is_dcn_module or type(child).__name__ in _DCN_NAMES, seen)


def build_optim_wrapper(model: nn.Module, cfg: Mapping) -> Any:
    """Build the optim wrapper that a config's ``optim_wrapper`` describes.

    ``cfg`` may name a ``constructor`` (default DefaultOptimWrapperConstructor)
    and carry ``paramwise_cfg``. A constructor written for MMCV 1.x (taking
    ``optimizer_cfg`` and returning a torch optimizer) also works: its result is
    wrapped. Several optimizers: ``cfg`` maps names to wrapper configs and a
    custom constructor returns an ``OptimWrapperDict``.
    """
    cfg = copy.deepcopy(dict(cfg))
    constructor_type = cfg.pop("constructor", "DefaultOptimWrapperConstructor")
    paramwise_cfg = cfg.pop("paramwise_cfg", None)
    constructor_cls = OPTIM_WRAPPER_CONSTRUCTORS.get(constructor_type) if isinstance(
        constructor_type, str) else constructor_type
    if constructor_cls is None:
        raise RegistryError(unknown_type_message(OPTIM_WRAPPER_CONSTRUCTORS, constructor_type, cfg))
    accepted = inspect.signature(constructor_cls).parameters
    if "optim_wrapper_cfg" in accepted:
        constructor = constructor_cls(optim_wrapper_cfg=cfg, paramwise_cfg=paramwise_cfg)
    elif "optimizer_cfg" in accepted:  # MMCV 1.x-style constructor
        constructor = constructor_cls(optimizer_cfg=cfg.get("optimizer"), paramwise_cfg=paramwise_cfg)
    else:
        raise TypeError(f"optimizer constructor {constructor_cls.__name__} must accept "
                        "optim_wrapper_cfg (or optimizer_cfg) and paramwise_cfg")
    built = constructor(model)
    if isinstance(built, torch.optim.Optimizer):
        wrapper_cfg = {k: v for k, v in cfg.items() if k != "optimizer"}
        wrapper_cfg.setdefault("type", "OptimWrapper")
        built = OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=built))
    return built
