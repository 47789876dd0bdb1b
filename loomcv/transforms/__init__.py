"""Data transforms (registered in TRANSFORMS): dict -> dict steps of a data pipeline.

See docs/data.md. Names and arguments follow MMCV 2.x / MMPretrain 1.x.
"""

from loomcv.legacy.moved import moved_names

from .auto_augment import (AUTOAUG_POLICIES, RANDAUG_POLICIES, AutoAugment, AutoContrast, BaseAugTransform,
                           Brightness, ColorTransform, Contrast, Cutout, Equalize, GaussianBlur, Invert,
                           Posterize, RandAugment, Rotate, Sharpness, Shear, Solarize, SolarizeAdd, Translate)
from .base import BaseTransform, cache_random_params, cache_randomness
from .formatting import ImageToTensor, ToNumpy, ToTensor, Transpose, image_to_chw, to_tensor
from .loading import LoadImageFromFile
from .photometric import ColorJitter, Lighting, RandomErasing, RandomGrayscale
from .processing import (CenterCrop, Normalize, Pad, RandomCrop, RandomFlip, RandomResize, RandomResizedCrop,
                         Resize, ResizeEdge)
from .wrappers import Compose, KeyMapper, RandomApply, RandomChoice, TransformBroadcaster

__all__ = [
    "BaseTransform", "cache_randomness", "cache_random_params", "Compose", "RandomApply", "RandomChoice",
    "KeyMapper", "TransformBroadcaster", "LoadImageFromFile", "Resize", "ResizeEdge", "RandomResize",
    "RandomResizedCrop", "CenterCrop", "RandomCrop", "RandomFlip", "Normalize", "Pad", "ColorJitter",
    "RandomGrayscale", "Lighting", "RandomErasing", "BaseAugTransform", "AutoAugment", "RandAugment",
    "AUTOAUG_POLICIES", "RANDAUG_POLICIES", "Shear", "Translate", "Rotate", "AutoContrast", "Invert",
    "Equalize", "Solarize", "SolarizeAdd", "Posterize", "Contrast", "ColorTransform", "Brightness",
    "Sharpness", "Cutout", "GaussianBlur", "ToTensor", "ImageToTensor", "Transpose",
    "ToNumpy", "to_tensor", "image_to_chw",
]

# Collect (the MMCV 1.x last pipeline step) moved to loomcv.legacy.transforms; the
# classification transforms' move to their toolbox is declared by that toolbox.
__getattr__ = moved_names(__name__, {"Collect": "loomcv.legacy.transforms"})
