"""Transforms for classification pipelines.

They are loomcv's (LoadImageFromFile, Resize, RandomResizedCrop, RandomFlip,
PackInputs...): this module re-exports them so the MMPretrain-style path
``loomcls.datasets.transforms`` works, and is where loomcls-only transforms go.
"""

from loomcv.legacy.transforms import Collect  # noqa: F401  (MMPretrain 1.x keeps Collect on this path)
from loomcv.transforms import *  # noqa: F401,F403
