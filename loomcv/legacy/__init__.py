"""MMCV 1.x / MMClassification 0.x compatibility, in one place.

- :mod:`~loomcv.legacy.config`: translation of 1.x configs to the native schema
- :mod:`~loomcv.legacy.policies`: the ``lr_config`` / ``momentum_config`` policy table
- :mod:`~loomcv.legacy.schedulers`: ``LegacyLR`` / ``LegacyMomentum``, the closed-form policies
- :mod:`~loomcv.legacy.hooks`: ``ValLossHook``, the ``('val', n)`` workflow phases
- :mod:`~loomcv.legacy.transforms`: ``Collect``, the 1.x last pipeline step

Loading a config imports the translation, so this package imports nothing up
front: each name below loads its submodule on first use (the schedulers, hook
and transform need torch; the translation does not). The registries import
the submodules that register classes.
"""

import importlib
from typing import Any

_WHERE = {
    "LEGACY_KEYS": "config", "NATIVE_KEYS": "config", "is_legacy": "config", "translate": "config",
    "POLICIES": "policies", "Policy": "policies", "policies_of": "policies",
    "LegacyLR": "schedulers", "LegacyMomentum": "schedulers",
    "ValLossHook": "hooks",
    "Collect": "transforms",
}

__all__ = list(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'loomcv.legacy' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
