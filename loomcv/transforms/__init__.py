"""Data transforms (registered in TRANSFORMS): dict -> dict steps of a data pipeline.

See docs/data.md. Names and arguments follow MMCV 2.x / MMPretrain 1.x.
"""

from loomcv.legacy.moved import moved_names

from .base import BaseTransform, cache_random_params, cache_randomness
from .formatting import ImageToTensor, ToNumpy, ToTensor, Transpose, image_to_chw, to_tensor
from .loading import LoadImageFromFile
from .photometric import RandomGrayscale
from .processing import CenterCrop, Normalize, Pad, RandomFlip, RandomResize, Resize
from .wrappers import Compose, KeyMapper, RandomApply, RandomChoice, TransformBroadcaster

__all__ = [
    "BaseTransform", "cache_randomness", "cache_random_params", "Compose", "RandomApply", "RandomChoice",
    "KeyMapper", "TransformBroadcaster", "LoadImageFromFile", "Resize", "RandomResize", "CenterCrop",
    "RandomFlip", "Normalize", "Pad", "RandomGrayscale", "ToTensor", "ImageToTensor", "Transpose",
    "ToNumpy", "to_tensor", "image_to_chw",
]

# Collect (the MMCV 1.x last pipeline step) moved to loomcv.legacy.transforms; the
# classification transforms' move to their toolbox is declared by that toolbox.
__getattr__ = moved_names(__name__, {"Collect": "loomcv.legacy.transforms"})
