"""Deprecated: LegacyLR and LegacyMomentum are in :mod:`loomcv.legacy.schedulers`."""

from loomcv.legacy.moved import warn_moved
from loomcv.legacy.schedulers import LegacyLR, LegacyMomentum  # noqa: F401

warn_moved(__name__, "loomcv.legacy.schedulers")
