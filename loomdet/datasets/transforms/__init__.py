"""MMDetection's detection-only transforms, registered in loomdet's TRANSFORMS.

The task-agnostic ones (LoadImageFromFile, LoadAnnotations, Resize, RandomFlip,
Pad, RandomCrop...) are loomcv's and reached from here through the parent
registry.
"""

from .formatting import PackDetInputs
from .geometric import Expand, MinIoURandomCrop, RandomAffine
from .loading import LoadImageFromNDArray
from .photometric import PhotoMetricDistortion, YOLOXHSVRandomAug

__all__ = ["PackDetInputs", "Expand", "MinIoURandomCrop", "RandomAffine", "LoadImageFromNDArray",
           "PhotoMetricDistortion", "YOLOXHSVRandomAug"]
