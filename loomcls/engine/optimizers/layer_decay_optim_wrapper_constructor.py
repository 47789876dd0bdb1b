"""Layer-wise learning-rate decay for fine-tuning (BEiT, MAE, ConvNeXt recipes).

A parameter at depth ``d`` of ``D`` depths gets ``lr * layer_decay_rate ** (D - 1 - d)``:
the head keeps the base rate and each layer closer to the input is scaled down
once more. ``paramwise_cfg`` keys are MMPretrain's: ``layer_decay_rate``,
``bias_decay_mult``, ``norm_decay_mult``, ``flat_decay_mult`` and
``custom_keys`` (``{'.cls_token': dict(decay_mult=0.0)}``: the longest key
contained in a parameter's name wins; ``decay_mult`` scales the weight decay,
``lr_mult`` scales the decayed rate, other fields are copied into the group).
Frozen parameters get no group.
"""

import logging
from collections import defaultdict
from typing import Callable, List, Optional

import torch.nn as nn

from loomcls.registry import OPTIM_WRAPPER_CONSTRUCTORS
from loomcv.errors import ConfigError, did_you_mean
from loomcv.optim.constructor import DefaultOptimWrapperConstructor, _NORMS, _unwrap

from loomcls.models.utils.layer_depth import LAYER_DEPTH_RULES

LAYER_DECAY_KEYS = ("layer_decay_rate", "bias_decay_mult", "norm_decay_mult", "flat_decay_mult", "custom_keys")


def layer_depth_function(model: nn.Module) -> Callable:
    """``name -> (depth, number of depths)`` for ``model``: from its backbone's (names prefixed
    ``backbone.``) or its own ``get_layer_depth``, else a rule from LAYER_DEPTH_RULES."""
    backbone = getattr(model, "backbone", None)
    target, prefix = (backbone, "backbone.") if isinstance(backbone, nn.Module) else (model, "")
    if hasattr(target, "get_layer_depth"):
        return lambda name: target.get_layer_depth(name, prefix)
    rule = LAYER_DEPTH_RULES.get(type(target).__name__)
    if rule is not None:
        return lambda name: rule(target, name, prefix)
    known = sorted({"VisionTransformer", *LAYER_DEPTH_RULES})
    raise NotImplementedError(
        f"LearningRateDecayOptimWrapperConstructor: {type(target).__name__} has no get_layer_depth(param_name, "
        f"prefix) method and no rule in LAYER_DEPTH_RULES; layer-wise decay knows {known} and any module with "
        "get_layer_depth")


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """One param group per trainable parameter, its lr decayed by its depth in the backbone."""

    def _validate(self) -> None:
        name = type(self).__name__
        for key in self.paramwise_cfg:
            if key not in LAYER_DECAY_KEYS:
                raise ConfigError(f"{name}: unknown paramwise_cfg key {key!r}; valid keys: "
                                  f"{', '.join(LAYER_DECAY_KEYS)}.{did_you_mean(key, LAYER_DECAY_KEYS)}")
        rate = self.paramwise_cfg.get("layer_decay_rate", 1.0)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 1:
            raise ConfigError(f"{name}: paramwise_cfg.layer_decay_rate must be a number in (0, 1], got {rate!r}")
        if self.base_lr is None:
            raise ConfigError(f"{name}: the optimizer config needs an 'lr' to decay")
        custom = self.paramwise_cfg.get("custom_keys", {})
        if not isinstance(custom, dict) or not all(isinstance(v, dict) for v in custom.values()):
            raise ConfigError(f"{name}: paramwise_cfg.custom_keys must map names to dicts such as "
                              f"dict(decay_mult=0.0), got {custom!r}")

    def __call__(self, model: nn.Module):
        model = _unwrap(model)
        self._depth_of = layer_depth_function(model)
        optimizer_cfg = dict(self.optimizer_cfg)
        groups: List[dict] = []
        self.add_params(groups, model)
        self._log_groups(groups)
        optimizer_cfg["params"] = groups
        from loomcv.registry import OPTIM_WRAPPERS, OPTIMIZERS

        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = dict(self.optim_wrapper_cfg)
        wrapper_cfg.setdefault("type", "OptimWrapper")
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = "",
                   get_layer_depth: Optional[Callable] = None, **kwargs) -> None:
        """Append a group for each trainable parameter of ``module`` (recursively) to ``params``."""
        depth_of = get_layer_depth or getattr(self, "_depth_of", None) or layer_depth_function(module)
        cfg = self.paramwise_cfg
        custom = cfg.get("custom_keys", {})
        keys = sorted(custom, key=lambda k: (-len(k), k))
        rate = cfg.get("layer_decay_rate", 1.0)
        is_norm = isinstance(module, _NORMS)
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            full_name = prefix + name
            group = {"params": [param], "param_name": full_name}
            lr_mult = 1.0
            key = next((k for k in keys if k in full_name), None)
            if key is not None:
                rule = dict(custom[key])
                lr_mult = rule.pop("lr_mult", 1.0)
                decay_mult = rule.pop("decay_mult", 1.0)
                group.update(rule)
            elif is_norm and cfg.get("norm_decay_mult") is not None:
                decay_mult = cfg["norm_decay_mult"]
            elif name == "bias" and cfg.get("bias_decay_mult") is not None:
                decay_mult = cfg["bias_decay_mult"]
            elif param.ndim == 1 and cfg.get("flat_decay_mult") is not None:
                decay_mult = cfg["flat_decay_mult"]
            else:
                decay_mult = 1.0
            if self.base_wd is not None:
                group["weight_decay"] = self.base_wd * decay_mult
            depth, num_depths = depth_of(full_name)
            group["layer_id"] = depth
            group["lr"] = self.base_lr * rate ** (num_depths - depth - 1) * lr_mult
            params.append(group)
        for child_name, child in module.named_children():
            self.add_params(params, child, f"{prefix}{child_name}.", get_layer_depth=depth_of)

    @staticmethod
    def _log_groups(groups: List[dict]) -> None:
        by_depth = defaultdict(list)
        for group in groups:
            by_depth[group["layer_id"]].append(group)
        logger = logging.getLogger("loomcv")
        for depth in sorted(by_depth):
            lines = [f"layer {depth} params:"]
            lines += [f"\t{g['param_name']}: lr={g['lr']:.3g}, weight_decay={g.get('weight_decay', 0):.3g}"
                      for g in by_depth[depth]]
            logger.info("\n".join(lines))
