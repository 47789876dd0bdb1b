"""``custom_imports``: import user modules so their registrations run."""

import importlib
import warnings
from typing import Optional, Sequence, Union

from loomcv.errors import ConfigError

from .toolbox import resolve_package


def import_modules_from_strings(imports: Union[str, Sequence[str], None],
                                allow_failed_imports: bool = False,
                                source: Optional[str] = None) -> list:
    """Import each dotted module name; return the imported modules.

    A module that fails to import raises an ImportError naming it (and the
    config that asked for it) unless ``allow_failed_imports`` is set, in which
    case it is skipped with a warning.
    """
    if not imports:
        return []
    if isinstance(imports, str):
        imports = [imports]
    origin = f" (custom_imports in {source})" if source else ""
    if not isinstance(imports, (list, tuple)) or not all(isinstance(m, str) for m in imports):
        raise ConfigError(f"custom_imports.imports must be a list of module names{origin}, "
                          f"got {imports!r}")
    modules = []
    for name in imports:
        try:
            modules.append(_import_module(name))
        except ImportError as err:
            if allow_failed_imports:
                warnings.warn(f"{name} failed to import and is skipped{origin}: {err}", UserWarning, stacklevel=2)
                continue
            raise ImportError(
                f"cannot import {name!r}{origin}: {err}. Check that the module is installed or "
                f"on PYTHONPATH, or set allow_failed_imports=True to skip it.") from err
    return modules


def _import_module(name: str):
    """Import ``name``; if its top-level package is not installed but names a declared
    toolbox (``'mmcls.models'`` where ``mmcls`` is an alias), import the toolbox's module."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        top, dot, rest = name.partition(".")
        package = resolve_package(top)
        if err.name != top or package == top:
            raise
        return importlib.import_module(package + dot + rest)


def import_custom_modules(custom_imports, source: Optional[str] = None) -> list:
    """Apply a config's ``custom_imports=dict(imports=[...], allow_failed_imports=False)``."""
    if custom_imports is None:
        return []
    if isinstance(custom_imports, (str, list, tuple)):
        return import_modules_from_strings(custom_imports, source=source)
    if not hasattr(custom_imports, "get"):
        raise ConfigError(f"custom_imports must be a dict(imports=[...]), got {custom_imports!r}")
    unknown = set(custom_imports) - {"imports", "allow_failed_imports"}
    if unknown:
        raise ConfigError(f"custom_imports has unknown keys {sorted(unknown)}"
                          f"{' in ' + source if source else ''}; expected imports, allow_failed_imports")
    return import_modules_from_strings(custom_imports.get("imports"),
                                       custom_imports.get("allow_failed_imports", False), source)
