"""YOLOv3's box encoding: a center offset inside the cell and log width/height ratios."""

from typing import Union

import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS
from loomdet.structures.bbox import get_box_tensor
from .base_bbox_coder import BaseBBoxCoder


@TASK_UTILS.register_module()
class YOLOBBoxCoder(BaseBBoxCoder):
    """Encode ``(x1, y1, x2, y2)`` as ``(cx, cy, dw, dh)`` relative to an anchor of a grid.

    ``cx, cy`` are the ground-truth center relative to the anchor center in
    units of the level's stride, shifted by 0.5 so that a center inside the
    anchor's cell lands in ``[0, 1]`` (the head predicts them through a
    sigmoid); ``dw, dh`` are ``log(gt / anchor)`` of width and height.

    Args:
        eps: floor of the width/height ratios and margin that keeps the
            center targets inside ``(0, 1)``.
    """

    def __init__(self, eps: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        self.eps = eps

    def encode(self, bboxes, gt_bboxes, stride: Union[Tensor, int]) -> Tensor:
        """Targets ``(N, 4)`` that move the anchors ``bboxes`` onto ``gt_bboxes``."""
        bboxes = get_box_tensor(bboxes)
        gt_bboxes = get_box_tensor(gt_bboxes)
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f"YOLOBBoxCoder.encode: bboxes and gt_bboxes must both be (N, 4), got "
                             f"{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}")
        gt_cx = (gt_bboxes[..., 0] + gt_bboxes[..., 2]) * 0.5
        gt_cy = (gt_bboxes[..., 1] + gt_bboxes[..., 3]) * 0.5
        gt_w = gt_bboxes[..., 2] - gt_bboxes[..., 0]
        gt_h = gt_bboxes[..., 3] - gt_bboxes[..., 1]
        cx = (bboxes[..., 0] + bboxes[..., 2]) * 0.5
        cy = (bboxes[..., 1] + bboxes[..., 3]) * 0.5
        w = bboxes[..., 2] - bboxes[..., 0]
        h = bboxes[..., 3] - bboxes[..., 1]
        w_target = torch.log((gt_w / w).clamp(min=self.eps))
        h_target = torch.log((gt_h / h).clamp(min=self.eps))
        x_target = ((gt_cx - cx) / stride + 0.5).clamp(self.eps, 1 - self.eps)
        y_target = ((gt_cy - cy) / stride + 0.5).clamp(self.eps, 1 - self.eps)
        return torch.stack([x_target, y_target, w_target, h_target], dim=-1)

    def decode(self, bboxes, pred_bboxes: Tensor, stride: Union[Tensor, int]) -> Tensor:
        """Boxes from anchors and predictions whose center part is already in ``[0, 1]``."""
        bboxes = get_box_tensor(bboxes)
        if pred_bboxes.size(-1) != 4 or bboxes.size(-1) != 4:
            raise ValueError(f"YOLOBBoxCoder.decode: bboxes and pred_bboxes need 4 values per box, got "
                             f"{tuple(bboxes.shape)} and {tuple(pred_bboxes.shape)}")
        centers = (bboxes[..., :2] + bboxes[..., 2:]) * 0.5 + (pred_bboxes[..., :2] - 0.5) * stride
        half_wh = (bboxes[..., 2:] - bboxes[..., :2]) * 0.5 * pred_bboxes[..., 2:].exp()
        return torch.cat([centers - half_wh, centers + half_wh], dim=-1)
