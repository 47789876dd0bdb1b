"""Detection datasets (COCO format, the generated digits set) and detection transforms."""

from .api_wrappers import COCO, COCOeval
from .base_det_dataset import BaseDetDataset
from .coco import COCO_CLASSES, CocoDataset
from .digits_det import DigitsDetDataset, generate_digits_det
from .transforms import *  # noqa: F401,F403  (registers the transforms)
from .transforms import __all__ as _transforms

__all__ = ["COCO", "COCOeval", "BaseDetDataset", "CocoDataset", "COCO_CLASSES", "DigitsDetDataset",
           "generate_digits_det", *_transforms]
