"""Deprecated: the MMCV 1.x config translation is :mod:`loomcv.legacy.config`."""

from loomcv.legacy.config import *  # noqa: F401,F403
from loomcv.legacy.moved import warn_moved

warn_moved(__name__, "loomcv.legacy.config")
