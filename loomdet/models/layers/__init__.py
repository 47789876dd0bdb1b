"""Detection layers that carry no weights: non-maximum suppression."""

from .nms import batched_nms, multiclass_nms, nms

__all__ = ["nms", "batched_nms", "multiclass_nms"]
