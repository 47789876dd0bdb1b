"""Detection evaluation: COCO box/mask AP through pycocotools."""

from .metrics import CocoMetric

__all__ = ["CocoMetric"]
