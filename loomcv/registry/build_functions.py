"""MMEngine's build functions (``mmengine.registry.build_functions``): the runner, model and
scheduler builders that the root registries use, next to the generic :func:`build_from_cfg`.

``RUNNERS.build(cfg)`` takes the whole run config (a Config or a dict) and hands it to
the ``runner_type`` class's ``from_cfg``; ``MODELS.build([...])`` builds a list of
configs into a ``Sequential``; ``PARAM_SCHEDULERS.build`` honours
``convert_to_iter_based``. Nothing here imports torch until a model list is built.
"""

from typing import Any, Mapping, Optional

from loomcv.errors import ConfigError, RegistryError, did_you_mean

from .build import build_from_cfg, unknown_type_message
from .default_scope import DefaultScope


def _as_mapping(cfg: Any, owner: str) -> Mapping:
    """A Config's dict (``Config`` holds one), a ConfigDict or a dict; else a TypeError."""
    if isinstance(cfg, Mapping):
        return cfg
    inner = getattr(cfg, "_cfg_dict", None)
    if isinstance(inner, Mapping) and hasattr(cfg, "pretty_text"):
        return cfg
    raise TypeError(f"{owner}: cfg must be a dict, ConfigDict or Config, got {type(cfg).__name__}")


def build_runner_from_cfg(cfg: Any, registry: Any) -> Any:
    """The runner that ``cfg['runner_type']`` names (default ``'Runner'``), built by its ``from_cfg``."""
    _as_mapping(cfg, "build_runner_from_cfg")
    scope = cfg.get("_scope_")
    with DefaultScope.overwrite_default_scope(scope):
        runner_type = cfg.get("runner_type", "Runner") or "Runner"
        if isinstance(runner_type, str):
            runner_cls = registry.get(runner_type)
            if runner_cls is None:
                raise ConfigError(f"runner_type={runner_type!r} is not a registered runner."
                                  f"{did_you_mean(runner_type, registry.visible_names())}")
        elif isinstance(runner_type, type):
            runner_cls = runner_type
        else:
            raise TypeError(f"runner_type must be a registered name or a Runner class, got {runner_type!r}")
        return runner_cls.from_cfg(cfg)


def build_model_from_cfg(cfg: Any, registry: Any, default_args: Optional[Mapping] = None) -> Any:
    """A module from a config; a list of configs becomes the registry's ``Sequential`` of them
    (``loomcv.model.Sequential`` in MODELS; ``torch.nn.Sequential`` for a registry without one)."""
    if isinstance(cfg, (list, tuple)):
        sequential = registry.get("Sequential")
        if sequential is None:
            import torch.nn as nn
            sequential = nn.Sequential
        return sequential(*(build_from_cfg(c, registry, default_args) for c in cfg))
    return build_from_cfg(cfg, registry, default_args)


def build_scheduler_from_cfg(cfg: Any, registry: Any, default_args: Optional[Mapping] = None) -> Any:
    """A parameter scheduler; ``convert_to_iter_based=True`` goes through the class's
    ``build_iter_from_epoch`` (``default_args`` must then hold ``epoch_length``)."""
    _as_mapping(cfg, "build_scheduler_from_cfg")
    if not cfg.get("convert_to_iter_based", False) and "epoch_length" not in cfg \
            and "epoch_length" not in (default_args or {}):
        return build_from_cfg(cfg, registry, default_args)  # keeps the ConfigDict's provenance for errors
    args = dict(cfg)
    for key, value in (default_args or {}).items():
        args.setdefault(key, value)
    if not args.pop("convert_to_iter_based", False):
        args.pop("epoch_length", None)
        return build_from_cfg(args, registry)
    scope = args.pop("_scope_", None)
    with DefaultScope.overwrite_default_scope(scope):
        kind = args.pop("type", None)
        cls = registry.get(kind) if isinstance(kind, str) else kind
        if cls is None:
            raise RegistryError(unknown_type_message(registry, str(kind), cfg))
        return cls.build_iter_from_epoch(**args)


__all__ = ["build_from_cfg", "build_runner_from_cfg", "build_model_from_cfg", "build_scheduler_from_cfg"]
