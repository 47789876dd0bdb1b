"""Data transforms (registered in TRANSFORMS): dict -> dict steps of a data pipeline.

Geometric transforms move the image together with whatever annotations the
results hold (boxes, masks, segmentation maps, keypoints; see
:mod:`loomcv.transforms.annotations`). See docs/data.md. Names and arguments
follow MMCV 2.x (and MMDetection 3.x for the box-aware crop and annotation loading).
"""

from loomcv.legacy.moved import moved_names

from .base import BaseTransform, avoid_cache_randomness, cache_random_params, cache_randomness
from .crop import CenterCrop, RandomCrop
from .formatting import ImageToTensor, ToNumpy, ToTensor, Transpose, image_to_chw, to_tensor
from .loading import LoadAnnotations, LoadImageFromFile
from .photometric import RandomGrayscale
from .processing import Normalize, Pad, RandomChoiceResize, RandomFlip, RandomResize, Resize
from .tta import MultiScaleFlipAug, TestTimeAug
from .wrappers import Compose, KeyMapper, RandomApply, RandomChoice, TransformBroadcaster

__all__ = [
    "BaseTransform", "cache_randomness", "cache_random_params", "avoid_cache_randomness", "Compose",
    "RandomApply", "RandomChoice", "KeyMapper", "TransformBroadcaster", "TestTimeAug", "MultiScaleFlipAug",
    "LoadImageFromFile", "LoadAnnotations", "Resize", "RandomResize", "RandomChoiceResize", "CenterCrop",
    "RandomCrop", "RandomFlip", "Normalize", "Pad", "RandomGrayscale", "ToTensor", "ImageToTensor", "Transpose",
    "ToNumpy", "to_tensor", "image_to_chw",
]

# Collect (the MMCV 1.x last pipeline step) moved to loomcv.legacy.transforms; the
# classification transforms' move to their toolbox is declared by that toolbox.
__getattr__ = moved_names(__name__, {"Collect": "loomcv.legacy.transforms"})
