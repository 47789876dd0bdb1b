"""The import hook behind :func:`enable`: ``import mmengine.runner`` served by ``loomcv.runner``.

The finder sits at the end of ``sys.meta_path``, so it is asked only after
every real finder failed: an installed mmengine, mmcv or mmdet is always the
one imported, and only the absent packages are answered by loomcv.
"""

import importlib.abc
import importlib.machinery
import sys
from typing import Dict, Optional

from .mapping import CompatModule, compat_roots, is_really_installed, targets_of


class CompatFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds and loads :class:`CompatModule` s for the OpenMMLab packages that are not installed."""

    loomcv_compat = True

    def __init__(self, roots: Dict[str, str]):
        self.roots = dict(roots)

    def find_spec(self, fullname: str, path=None, target=None) -> Optional[importlib.machinery.ModuleSpec]:
        root = fullname.split(".")[0]
        if root not in self.roots:
            return None
        if root != fullname and not isinstance(sys.modules.get(root), CompatModule):
            return None  # a real package's missing submodule stays missing
        targets = targets_of(fullname)
        if targets is None:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        spec.loader_state = targets
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> CompatModule:
        return CompatModule(spec.name, spec.loader_state)

    def exec_module(self, module) -> None:
        """Nothing to run: the module's targets were imported when it was created."""


_finder: Optional[CompatFinder] = None


def _say(message: str) -> None:
    from loomcv.logging import print_log
    try:
        print_log(message, logger="current")
    except RuntimeError:  # no run logger yet
        print(message, file=sys.stderr)


def enable(verbose: bool = True) -> Dict[str, str]:
    """Serve ``import mmengine / mmcv / mmpretrain / mmcls / mmdet ...`` from loomcv and its toolboxes.

    Only the packages that are not installed are served; an installed one is
    left alone. Returns the served ones (OpenMMLab name -> loomcv package) and
    logs one line saying so. Calling it again changes nothing.
    """
    global _finder
    if _finder is not None:
        return dict(_finder.roots)
    roots = compat_roots()
    served = {old: new for old, new in roots.items() if not is_really_installed(old)}
    left = sorted(set(roots) - set(served))
    _finder = CompatFinder(served)
    sys.meta_path.append(_finder)
    if verbose:
        by_target: Dict[str, list] = {}
        for old, new in served.items():
            by_target.setdefault(new, []).append(old)
        parts = "; ".join(f"{', '.join(olds)} -> {new}" for new, olds in by_target.items())
        note = f" (installed, so left alone: {', '.join(left)})" if left else ""
        _say(f"compat imports on: {parts or 'nothing to serve'}{note}")
    return dict(served)


def disable() -> None:
    """Undo :func:`enable`: remove the hook and forget the modules it served."""
    global _finder
    if _finder is None:
        return
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n, m in sys.modules.items() if isinstance(m, CompatModule)]:
        del sys.modules[name]
    _finder = None


def is_enabled() -> bool:
    return _finder is not None
