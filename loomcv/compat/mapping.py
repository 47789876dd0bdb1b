"""Which loomcv (or toolbox) module answers to an OpenMMLab import path.

``mmengine.X`` and ``mmcv.X`` are the engine's (the table below); every other
name comes from the toolbox declarations (:mod:`loomcv.registry.toolbox`):
``<alias>.X`` means ``<package>.X`` for each alias a toolbox answers to, with
the toolbox's ``compat_imports`` for paths that moved. MMEngine modules that
loomcv keeps inside their package (``mmengine.runner.amp``) read names from
that package (``loomcv.runner``).

A :class:`CompatModule` stands for the old path: names are looked up in its
targets in order, so loomcv's own modules never get attributes set on them.
"""

import importlib
import importlib.util
import sys
import types
from typing import Dict, List, Optional, Tuple

from loomcv.registry.toolbox import ENGINE_SCOPE, toolboxes

#: the engine's OpenMMLab paths whose loomcv home is not ``loomcv.<same path>``
ENGINE_IMPORTS: Dict[str, Tuple[str, ...]] = {
    # MMEngine's top package re-exports its config, fileio, logging, registry and utils names
    "mmengine": (ENGINE_SCOPE, "loomcv.config", "loomcv.fileio", "loomcv.logging", "loomcv.registry",
                 "loomcv.utils"),
    "mmengine.runner.checkpoint": ("loomcv.runner", "loomcv.checkpoint"),
    "mmengine.device": ("loomcv.dist",),
    "mmengine.utils.dl_utils": ("loomcv.utils",),
    "mmengine.model.weight_init": ("loomcv.model",),
    # MMCV 2.x: image / video / transforms at the top, bricks under mmcv.cnn
    "mmcv": ("loomcv.image", "loomcv.video", "loomcv.transforms"),
    "mmcv.cnn": ("loomcv.model.bricks", "loomcv.model"),
    "mmcv.cnn.bricks": ("loomcv.model.bricks",),
    "mmcv.transforms": ("loomcv.transforms",),
    "mmcv.image": ("loomcv.image",),
    "mmcv.video": ("loomcv.video",),
    "mmcv.fileio": ("loomcv.fileio",),
    "mmcv.utils": ("loomcv.utils",),
}

#: MMEngine modules whose names loomcv keeps in the package itself: package -> module names
_FLATTENED = {
    "runner": "activation_checkpointing amp base_loop priority utils",
    "model": "efficient_conv_bn_eval test_time_aug utils",
    "hooks": "naive_visualization_hook sync_buffer_hook",
    "dataset": "dataset_wrapper utils",
    "evaluator": "utils",
    "optim": "optimizer",
    "dist": "dist utils",
    "fileio": "file_client handlers parse",
    "registry": "build_functions utils",
    "visualization": "vis_backend",
    "utils": "misc package_utils progressbar timer version_utils manager",
}
for _package, _modules in _FLATTENED.items():
    for _module in _modules.split():
        ENGINE_IMPORTS.setdefault(f"mmengine.{_package}.{_module}", (f"loomcv.{_package}",))

#: the OpenMMLab engine packages loomcv itself answers to
ENGINE_ROOTS = ("mmengine", "mmcv")


def compat_roots() -> Dict[str, str]:
    """OpenMMLab top package -> the loomcv package that answers to it."""
    roots = {root: ENGINE_SCOPE for root in ENGINE_ROOTS}
    for toolbox in toolboxes().values():
        for alias in toolbox.aliases:
            if alias.isidentifier():
                roots.setdefault(alias, toolbox.package)
    return roots


def _explicit_table(root: str) -> Dict[str, Tuple[str, ...]]:
    if root in ENGINE_ROOTS:
        return {k: v for k, v in ENGINE_IMPORTS.items() if k.split(".")[0] == root}
    table: Dict[str, Tuple[str, ...]] = {}
    for toolbox in toolboxes().values():
        if root in toolbox.aliases:
            table[root] = (toolbox.package,)
            for old, new in toolbox.compat_imports.items():
                if old.split(".")[0] == root:
                    table[old] = (new,) if isinstance(new, str) else tuple(new)
    return table


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def targets_of(name: str) -> Optional[Tuple[str, ...]]:
    """The loomcv modules that answer to OpenMMLab module ``name``, or None if none does."""
    root = name.split(".")[0]
    if root not in compat_roots():
        return None
    table = _explicit_table(root)
    if name in table:
        return table[name]
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:cut])
        if prefix not in table:
            continue
        rest = ".".join(parts[cut:])
        found = tuple(f"{target}.{rest}" for target in table[prefix] if _is_module(f"{target}.{rest}"))
        return found or None
    return None


def attribute_target(path: str) -> Optional[str]:
    """A renamed name: the new dotted path a toolbox declares for old dotted ``path``."""
    root = path.split(".")[0]
    for toolbox in toolboxes().values():
        if root in toolbox.aliases and path in toolbox.compat_imports:
            target = toolbox.compat_imports[path]
            return target if isinstance(target, str) else target[0]
    return None


class CompatModule(types.ModuleType):
    """An OpenMMLab module path served by loomcv modules (``mmengine.runner`` -> ``loomcv.runner``)."""

    def __init__(self, name: str, targets: Tuple[str, ...]):
        super().__init__(name, f"compatibility module: {name} is served by {', '.join(targets)}")
        self.__path__: List[str] = []  # a package, so that deeper paths are asked for too
        self.__loom_targets__ = targets
        self.__loom_modules__ = [importlib.import_module(t) for t in targets]

    def __getattr__(self, attr: str):
        if attr.startswith("__") and attr.endswith("__"):
            if attr == "__all__":
                names: List[str] = []
                for module in self.__loom_modules__:
                    public = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
                    names += [n for n in public if n not in names]
                return names
            raise AttributeError(attr)
        renamed = attribute_target(f"{self.__name__}.{attr}")
        if renamed is not None:
            return _load_path(renamed)
        for module in self.__loom_modules__:
            if hasattr(module, attr):
                return getattr(module, attr)
        sub = f"{self.__name__}.{attr}"
        if targets_of(sub) is not None:
            return import_compat_module(sub)
        raise AttributeError(f"module {self.__name__!r} (served by {', '.join(self.__loom_targets__)}) has no "
                             f"attribute {attr!r}: loomcv has no such name there")

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self.__all__))


def _load_path(path: str):
    if _is_module(path):
        return importlib.import_module(path)
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def is_really_installed(root: str) -> bool:
    """Whether a real package ``root`` is importable (loomcv's own compatibility modules aside)."""
    present = sys.modules.get(root)
    if present is not None:
        return not isinstance(present, CompatModule)
    for finder in sys.meta_path:
        if getattr(finder, "loomcv_compat", False) or not hasattr(finder, "find_spec"):
            continue
        try:
            if finder.find_spec(root, None) is not None:
                return True
        except (ImportError, ValueError):
            continue
    return False


def import_compat_module(name: str):
    """Import ``name``; an OpenMMLab path resolves to its loomcv modules when its package is not installed.

    Used by pure-Python configs, whose ``from mmpretrain.models import ResNet``
    must work whether or not :func:`loomcv.compat.enable` was called.
    """
    root = name.split(".")[0]
    if root not in compat_roots() or is_really_installed(root):
        return importlib.import_module(name)
    present = sys.modules.get(name)
    if isinstance(present, CompatModule):
        return present
    targets = targets_of(name)
    if targets is None:
        raise ModuleNotFoundError(f"No module named {name!r}: {root} is not installed and loomcv has no module "
                                  f"that answers to {name}", name=name)
    return CompatModule(name, targets)
