"""Detection layers: non-maximum suppression and the learnable ``Scale``."""

from .nms import batched_nms, multiclass_nms, nms
from .scale import Scale

__all__ = ["nms", "batched_nms", "multiclass_nms", "Scale"]
