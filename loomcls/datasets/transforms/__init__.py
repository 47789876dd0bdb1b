"""Transforms for classification pipelines.

The task-agnostic ones are loomcv's (re-exported here so the MMPretrain-style
path ``loomcls.datasets.transforms`` finds them too); the classification ones
are registered in loomcls' TRANSFORMS.
"""

from loomcv.transforms import *  # noqa: F401,F403
from loomcv.transforms import __all__ as _engine_transforms

from .formatting import PackInputs

__all__ = [*_engine_transforms, "PackInputs"]
