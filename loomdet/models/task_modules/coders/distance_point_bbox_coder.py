"""Anchor-free box encoding: distances from a point to the four sides of its box (FCOS)."""

from typing import Optional

from torch import Tensor

from loomdet.registry import TASK_UTILS
from loomdet.structures.bbox import bbox2distance, distance2bbox, get_box_tensor
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class DistancePointBBoxCoder(BaseBBoxCoder):
    """Encode a box as ``(left, top, right, bottom)`` distances from a point inside it.

    Args:
        clip_border: clip decoded boxes to ``max_shape`` when one is given.
    """

    def __init__(self, clip_border: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clip_border = clip_border

    def encode(self, points: Tensor, gt_bboxes, max_dis: Optional[float] = None, eps: float = 0.1) -> Tensor:
        """Distances ``(N, 4)`` from ``points`` ``(N, 2)`` to the sides of ``gt_bboxes`` ``(N, 4)``.

        With ``max_dis`` the distances are clamped into ``[0, max_dis - eps]``.
        """
        gt_bboxes = get_box_tensor(gt_bboxes)
        if points.size(0) != gt_bboxes.size(0) or points.size(-1) != 2 or gt_bboxes.size(-1) != 4:
            raise ValueError(f"DistancePointBBoxCoder.encode: points must be (N, 2) and gt_bboxes (N, 4), got "
                             f"{tuple(points.shape)} and {tuple(gt_bboxes.shape)}")
        return bbox2distance(points, gt_bboxes, max_dis, eps)

    def decode(self, points: Tensor, pred_bboxes: Tensor, max_shape=None) -> Tensor:
        """Boxes ``(..., 4)`` from ``points`` ``(..., 2)`` and distances ``(..., 4)``.

        ``max_shape`` is ``(h, w)`` (or one per image for batched input).
        """
        if points.size(0) != pred_bboxes.size(0) or points.size(-1) != 2 or pred_bboxes.size(-1) != 4:
            raise ValueError(f"DistancePointBBoxCoder.decode: points must be (..., 2) and pred_bboxes (..., 4) "
                             f"with the same leading size, got {tuple(points.shape)} and "
                             f"{tuple(pred_bboxes.shape)}")
        if not self.clip_border:
            max_shape = None
        return distance2bbox(points, pred_bboxes, max_shape)
