"""Detection metrics, registered in loomdet's METRICS."""

from .coco_metric import CocoMetric

__all__ = ["CocoMetric"]
