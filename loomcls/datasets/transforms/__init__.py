"""Transforms for classification pipelines.

The task-agnostic ones are loomcv's (re-exported here so the MMPretrain-style
path ``loomcls.datasets.transforms`` finds them too); the classification ones
are registered in loomcls' TRANSFORMS.
"""

from loomcv.legacy.transforms import Collect  # noqa: F401  (MMPretrain 1.x keeps Collect on this path)
from loomcv.transforms import *  # noqa: F401,F403
from loomcv.transforms import __all__ as _engine_transforms

from .auto_augment import (AUTOAUG_POLICIES, RANDAUG_POLICIES, AutoAugment, AutoContrast, BaseAugTransform,
                           Brightness, ColorTransform, Contrast, Cutout, Equalize, GaussianBlur, Invert,
                           Posterize, RandAugment, Rotate, Sharpness, Shear, Solarize, SolarizeAdd, Translate)
from .formatting import PackInputs
from .processing import ColorJitter, Lighting, RandomCrop, RandomErasing, RandomResizedCrop, ResizeEdge
from .processing import EfficientNetCenterCrop, EfficientNetRandomCrop

#: the classification transforms (loomcls' own); the rest are loomcv's, re-exported
CLASSIFICATION_TRANSFORMS = [
    "PackInputs", "RandomResizedCrop", "ResizeEdge", "RandomCrop", "ColorJitter", "Lighting", "RandomErasing",
    "BaseAugTransform", "AutoAugment", "RandAugment", "AUTOAUG_POLICIES", "RANDAUG_POLICIES", "Shear",
    "Translate", "Rotate", "AutoContrast", "Invert", "Equalize", "Solarize", "SolarizeAdd", "Posterize",
    "Contrast", "ColorTransform", "Brightness", "Sharpness", "Cutout", "GaussianBlur",
    "EfficientNetRandomCrop", "EfficientNetCenterCrop",
]

__all__ = [*_engine_transforms, "Collect", *CLASSIFICATION_TRANSFORMS]
