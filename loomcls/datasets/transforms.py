"""Transforms for classification pipelines.

They are loomcv's (LoadImageFromFile, Resize, RandomResizedCrop, RandomFlip,
PackInputs...): this module re-exports them so the MMPretrain-style path
``loomcls.datasets.transforms`` works, and is where loomcls-only transforms go.
"""

from loomcv.transforms import *  # noqa: F401,F403
