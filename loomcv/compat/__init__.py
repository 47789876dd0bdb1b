"""Opt-in compatibility imports: code written for MMEngine / MMCV / MMPretrain / MMDetection runs unchanged.

``loomcv.compat.enable()`` (or ``compat_imports=True`` in a config, or
``loomcv train --compat``) makes ``import mmengine.runner``, ``from mmcv.cnn
import ConvModule``, ``from mmpretrain.models import ResNet`` ... resolve to
loomcv and the toolboxes that declare those names, when the real packages are
not installed. See docs/migration.md.
"""

from .finder import disable, enable, is_enabled
from .mapping import CompatModule, compat_roots, import_compat_module, targets_of

__all__ = ["enable", "disable", "is_enabled", "CompatModule", "compat_roots", "import_compat_module",
           "targets_of"]
