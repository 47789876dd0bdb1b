"""Old import paths kept working for one release with a DeprecationWarning.

Names that moved inside loomcv (the MMCV 1.x code into :mod:`loomcv.legacy`)
are listed where they used to be; names that moved out of loomcv into a
toolbox are declared by that toolbox (``Toolbox.moved``), so loomcv names none.
"""

import importlib
import warnings
from typing import Any, Callable, Dict


def warn_moved(old: str, new: str) -> None:
    """Warn that the module ``old`` is now ``new`` (call it at the top of the old module)."""
    warnings.warn(f"{old} moved to {new}; import from {new}", DeprecationWarning, stacklevel=3)


def moved_names(package: str, names: Dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that finds each moved name in its new module.

    ``names`` maps a name to the module that now holds it; other names are
    looked up in the toolboxes' declarations. The lookup is lazy, so the old
    package neither imports the new module up front nor forms an import cycle.
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            from loomcv.registry.toolbox import moved_attribute
            return moved_attribute(package, name)
        warnings.warn(f"{package}.{name} moved to {names[name]}.{name}; import it from there",
                      DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__
