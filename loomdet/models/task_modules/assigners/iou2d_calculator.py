"""The IoU calculator assigners build from ``iou_calculator=dict(type='BboxOverlaps2D')``."""

from typing import Optional

import torch

from loomdet.registry import TASK_UTILS
from loomdet.structures.bbox import bbox_overlaps, get_box_tensor

DTYPES = (None, "fp16")


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """IoU / IoF / GIoU between 2D boxes; a trailing score column is ignored.

    Args:
        scale: with ``dtype='fp16'``, boxes are divided by it before the cast
            so large coordinates do not overflow half precision.
        dtype: ``'fp16'`` computes in half precision to save memory when there
            are many boxes; None keeps the input dtype.
    """

    def __init__(self, scale: float = 1., dtype: Optional[str] = None) -> None:
        if dtype not in DTYPES:
            raise ValueError(f"BboxOverlaps2D: dtype must be one of {DTYPES}, got {dtype!r}")
        self.scale = scale
        self.dtype = dtype

    def __call__(self, bboxes1, bboxes2, mode: str = "iou", is_aligned: bool = False):
        """``(m, n)`` overlaps (``(m,)`` when aligned) between ``(m, 4|5)`` and ``(n, 4|5)`` boxes."""
        bboxes1 = get_box_tensor(bboxes1)
        bboxes2 = get_box_tensor(bboxes2)
        for name, boxes in (("bboxes1", bboxes1), ("bboxes2", bboxes2)):
            if boxes.size(-1) not in (0, 4, 5):
                raise ValueError(f"BboxOverlaps2D: {name} must have 4 (x1, y1, x2, y2) or 5 (+ score) values per "
                                 f"box, got shape {tuple(boxes.shape)}")
        if bboxes1.size(-1) == 5:
            bboxes1 = bboxes1[..., :4]
        if bboxes2.size(-1) == 5:
            bboxes2 = bboxes2[..., :4]
        if self.dtype == "fp16":
            bboxes1 = (bboxes1 / self.scale).half()
            bboxes2 = (bboxes2 / self.scale).half()
            overlaps = bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)
            if not overlaps.is_cuda and overlaps.dtype == torch.float16:
                overlaps = overlaps.float()
            return overlaps
        return bbox_overlaps(bboxes1, bboxes2, mode, is_aligned)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale}, dtype={self.dtype})"
