"""Transforms for classification pipelines.

The task-agnostic ones are loomcv's (re-exported here so the MMPretrain-style
path ``loomcls.datasets.transforms`` finds them too); the classification ones
are registered in loomcls' TRANSFORMS.
"""

from loomcv.legacy.transforms import Collect  # noqa: F401  (MMPretrain 1.x keeps Collect on this path)
from loomcv.transforms import *  # noqa: F401,F403
from loomcv.transforms import __all__ as _engine_transforms

from .formatting import PackInputs

__all__ = [*_engine_transforms, "PackInputs"]
