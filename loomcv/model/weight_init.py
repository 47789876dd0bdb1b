"""Weight initializers selected by ``init_cfg`` (registered in WEIGHT_INITIALIZERS).

``init_cfg=dict(type='Kaiming', layer='Conv2d', override=dict(name='fc', type='Normal', std=0.01))``
initializes every Conv2d with Kaiming and the sub-module ``fc`` with Normal.
``layer`` matches a module's class name or the name of one of its base classes.
An override applies to its whole sub-module; a top-level initializer without
``layer`` only carries overrides (MMCV semantics).
"""

import copy
import math
from typing import Any, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn

from loomcv.checkpoint import load_checkpoint
from loomcv.errors import ConfigError, did_you_mean
from loomcv.registry import WEIGHT_INITIALIZERS
from loomcv.validation import check_choice

DISTRIBUTIONS = ("normal", "uniform")

# ---------------------------------------------------------------- functions


def _has(module: nn.Module, name: str) -> bool:
    """Whether ``module.<name>`` is a tensor with values to set (meta tensors have none: a model
    built on the meta device to count its parameters or FLOPs skips the initialization)."""
    tensor = getattr(module, name, None)
    return isinstance(tensor, torch.Tensor) and not tensor.is_meta


def constant_init(module: nn.Module, val: float, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.constant_(module.weight, val)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def normal_init(module: nn.Module, mean: float = 0, std: float = 1, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.normal_(module.weight, mean, std)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def trunc_normal_init(module: nn.Module, mean: float = 0, std: float = 1, a: float = -2,
                      b: float = 2, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.trunc_normal_(module.weight, mean, std, a, b)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def uniform_init(module: nn.Module, a: float = 0, b: float = 1, bias: float = 0) -> None:
    if _has(module, "weight"):
        nn.init.uniform_(module.weight, a, b)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def xavier_init(module: nn.Module, gain: float = 1, bias: float = 0,
                distribution: str = "normal") -> None:
    check_choice("xavier_init", "distribution", distribution, DISTRIBUTIONS)
    if _has(module, "weight"):
        fn = nn.init.xavier_uniform_ if distribution == "uniform" else nn.init.xavier_normal_
        fn(module.weight, gain=gain)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def caffe2_xavier_init(module: nn.Module, bias: float = 0) -> None:
    """Caffe2's "Xavier" fill: Kaiming uniform with a=1 on fan_in (what Caffe2XavierInit does)."""
    kaiming_init(module, a=1, mode="fan_in", nonlinearity="leaky_relu", bias=bias, distribution="uniform")


def kaiming_init(module: nn.Module, a: float = 0, mode: str = "fan_out",
                 nonlinearity: str = "relu", bias: float = 0, distribution: str = "normal") -> None:
    check_choice("kaiming_init", "distribution", distribution, DISTRIBUTIONS)
    if _has(module, "weight"):
        fn = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
        fn(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if _has(module, "bias"):
        nn.init.constant_(module.bias, bias)


def bias_init_with_prob(prior_prob: float) -> float:
    """The bias that makes sigmoid output ``prior_prob`` (focal-loss style heads)."""
    return float(-math.log((1 - prior_prob) / prior_prob))


# ------------------------------------------------------------- init record


def update_init_info(module: nn.Module, init_info: str) -> None:
    """Note ``init_info`` for every parameter of ``module`` whose value changed since last noted.

    The record lives in ``module._params_init_info`` (shared by a whole model
    while its top-level ``init_weights`` runs); without it this does nothing.
    """
    record = getattr(module, "_params_init_info", None)
    if record is None:
        return
    for param in module.parameters():
        entry = record.get(param)
        if entry is None:
            continue
        mean = param.data.float().mean()
        if not torch.equal(mean, entry["tmp_mean_value"]):
            entry["init_info"] = init_info
            entry["tmp_mean_value"] = mean


# ------------------------------------------------------------ initializers


class BaseInit:
    """Apply an init function to the sub-modules whose class (or a base class) is in ``layer``."""

    def __init__(self, *, bias: float = 0, bias_prob: Optional[float] = None,
                 layer: Union[None, str, Sequence[str]] = None):
        if not isinstance(bias, (int, float)):
            raise TypeError(f"{type(self).__name__}: bias must be a number, got {bias!r}")
        if bias_prob is not None:
            if not 0 < bias_prob < 1:
                raise ValueError(f"{type(self).__name__}: bias_prob must be in (0, 1), got {bias_prob}")
            bias = bias_init_with_prob(bias_prob)
        if isinstance(layer, str):
            layer = [layer]
        elif layer is not None and not all(isinstance(x, str) for x in layer):
            raise TypeError(f"{type(self).__name__}: layer must be a str or list of str, got {layer!r}")
        self.bias = bias
        self.layer = [] if layer is None else list(layer)
        self.wholemodule = False  # set for overrides: every sub-module is initialized

    def init_module(self, module: nn.Module) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _matches(self, module: nn.Module) -> bool:
        if self.wholemodule:
            return True
        names = {cls.__name__ for cls in type(module).__mro__}
        return bool(names.intersection(self.layer))

    def __call__(self, module: nn.Module) -> None:
        for m in module.modules():
            if self._matches(m):
                self.init_module(m)
        update_init_info(module, self.info())

    def info(self) -> str:
        args = {k: v for k, v in vars(self).items() if k not in ("layer", "wholemodule")}
        return f"{type(self).__name__}: " + ", ".join(f"{k}={v}" for k, v in args.items())


@WEIGHT_INITIALIZERS.register_module(name=["Constant", "ConstantInit"])
class ConstantInit(BaseInit):
    def __init__(self, val: float, **kwargs):
        super().__init__(**kwargs)
        self.val = val

    def init_module(self, m: nn.Module) -> None:
        constant_init(m, self.val, self.bias)


@WEIGHT_INITIALIZERS.register_module(name=["Normal", "NormalInit"])
class NormalInit(BaseInit):
    def __init__(self, mean: float = 0, std: float = 1, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std = mean, std

    def init_module(self, m: nn.Module) -> None:
        normal_init(m, self.mean, self.std, self.bias)


@WEIGHT_INITIALIZERS.register_module(name=["TruncNormal", "TruncNormalInit"])
class TruncNormalInit(BaseInit):
    def __init__(self, mean: float = 0, std: float = 1, a: float = -2, b: float = 2, **kwargs):
        super().__init__(**kwargs)
        self.mean, self.std, self.a, self.b = mean, std, a, b

    def init_module(self, m: nn.Module) -> None:
        trunc_normal_init(m, self.mean, self.std, self.a, self.b, self.bias)


@WEIGHT_INITIALIZERS.register_module(name=["Uniform", "UniformInit"])
class UniformInit(BaseInit):
    def __init__(self, a: float = 0, b: float = 1, **kwargs):
        super().__init__(**kwargs)
        self.a, self.b = a, b

    def init_module(self, m: nn.Module) -> None:
        uniform_init(m, self.a, self.b, self.bias)


@WEIGHT_INITIALIZERS.register_module(name=["Xavier", "XavierInit"])
class XavierInit(BaseInit):
    def __init__(self, gain: float = 1, distribution: str = "normal", **kwargs):
        super().__init__(**kwargs)
        check_choice(self, "distribution", distribution, DISTRIBUTIONS)
        self.gain, self.distribution = gain, distribution

    def init_module(self, m: nn.Module) -> None:
        xavier_init(m, self.gain, self.bias, self.distribution)


@WEIGHT_INITIALIZERS.register_module(name=["Kaiming", "KaimingInit"])
class KaimingInit(BaseInit):
    def __init__(self, a: float = 0, mode: str = "fan_out", nonlinearity: str = "relu",
                 distribution: str = "normal", **kwargs):
        super().__init__(**kwargs)
        check_choice(self, "distribution", distribution, DISTRIBUTIONS)
        self.a, self.mode, self.nonlinearity, self.distribution = a, mode, nonlinearity, distribution

    def init_module(self, m: nn.Module) -> None:
        kaiming_init(m, self.a, self.mode, self.nonlinearity, self.bias, self.distribution)


@WEIGHT_INITIALIZERS.register_module(name=["Caffe2Xavier", "Caffe2XavierInit"])
class Caffe2XavierInit(KaimingInit):
    """Caffe2's "Xavier" fill, which is Kaiming uniform with a=1 on fan_in."""

    def __init__(self, **kwargs):
        super().__init__(a=1, mode="fan_in", nonlinearity="leaky_relu", distribution="uniform",
                         **kwargs)


@WEIGHT_INITIALIZERS.register_module(name=["Pretrained", "PretrainedInit"])
class PretrainedInit:
    """Load weights from a checkpoint; ``prefix`` takes only that sub-module's weights.

    ``dict(type='Pretrained', checkpoint='r50.pth', prefix='backbone')`` on a
    backbone loads the file's ``backbone.*`` entries with ``backbone.`` removed.
    Missing, unexpected and shape-mismatched keys are logged in one report
    table (see docs/checkpoints.md), not fatal; mis-shaped ones are skipped.
    """

    def __init__(self, checkpoint: str, prefix: Optional[str] = None, map_location: Any = "cpu"):
        if not isinstance(checkpoint, str) or not checkpoint:
            raise ConfigError(f"Pretrained init needs checkpoint=<path or URL>, got {checkpoint!r}")
        self.checkpoint, self.prefix, self.map_location = checkpoint, prefix, map_location

    def __call__(self, module: nn.Module) -> None:
        load_checkpoint(module, self.checkpoint, map_location=self.map_location, strict=False,
                        prefix=self.prefix)
        update_init_info(module, self.info())

    def info(self) -> str:
        return f"PretrainedInit: load from {self.checkpoint}" + (
            f" (prefix {self.prefix!r})" if self.prefix else "")


# --------------------------------------------------------------- initialize


def _as_list(cfg: Union[Mapping, Sequence[Mapping]]) -> List[Mapping]:
    if isinstance(cfg, Mapping):
        return [cfg]
    if isinstance(cfg, (list, tuple)) and all(isinstance(c, Mapping) for c in cfg):
        return list(cfg)
    raise TypeError(f"init_cfg must be a dict or a list of dicts, got {cfg!r}")


def _apply_override(module: nn.Module, parent_cfg: Mapping, override: Mapping) -> None:
    override = dict(override)
    name = override.pop("name", None)
    if name is None:
        raise ConfigError(f"each override in init_cfg needs a 'name' (a sub-module), got {override!r}")
    sub = module
    for part in name.split("."):
        sub = getattr(sub, part, None)
        if not isinstance(sub, nn.Module):
            children = [n for n, _ in module.named_children()]
            raise ConfigError(f"init_cfg override names {name!r}, which is not a sub-module of "
                              f"{type(module).__name__} (children: {children}).{did_you_mean(name, children)}")
    if "type" not in override:  # inherit the parent's initializer and arguments
        override = {**{k: v for k, v in parent_cfg.items() if k not in ("layer", "override")},
                    **override}
    initializer = WEIGHT_INITIALIZERS.build(override)
    initializer.wholemodule = True
    initializer(sub)


def initialize(module: nn.Module, init_cfg: Union[Mapping, Sequence[Mapping]]) -> None:
    """Apply ``init_cfg`` (a dict or list of dicts) to ``module``, overrides included."""
    for cfg in _as_list(init_cfg):
        cfg = copy.deepcopy(dict(cfg))
        overrides = cfg.pop("override", None)
        initializer = WEIGHT_INITIALIZERS.build(cfg)
        initializer(module)
        if overrides is not None:
            for override in _as_list(overrides):
                _apply_override(module, cfg, override)
