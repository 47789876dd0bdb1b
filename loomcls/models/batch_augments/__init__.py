"""Augments applied by the data preprocessor to whole batches (registry BATCH_AUGMENTS)."""

from .cutmix import CutMix
from .mixup import Mixup
from .random_batch_augment import RandomBatchAugment
from .resizemix import ResizeMix

__all__ = ["Mixup", "CutMix", "ResizeMix", "RandomBatchAugment"]
