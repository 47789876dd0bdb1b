"""Deprecated: ValLossHook is in :mod:`loomcv.legacy.hooks`."""

from loomcv.legacy.hooks import ValLossHook  # noqa: F401
from loomcv.legacy.moved import warn_moved

warn_moved(__name__, "loomcv.legacy.hooks")
