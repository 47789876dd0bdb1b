"""loomcls' DataSample is loomcv's (re-exported so ``loomcls.structures`` is a stable path)."""

from loomcv.structures import DataSample

__all__ = ["DataSample"]
