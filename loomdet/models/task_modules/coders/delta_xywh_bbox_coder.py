"""R-CNN box deltas: center shift in units of the prior's size, log size ratio."""

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS
from loomdet.structures.bbox import get_box_tensor
from .base_bbox_coder import BaseBBoxCoder


def bbox2delta(proposals: Tensor, gt: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.)) -> Tensor:
    """Normalized deltas ``(dx, dy, dw, dh)`` from ``proposals`` to ``gt`` (same shape ``(..., 4)``)."""
    if proposals.size() != gt.size():
        raise ValueError(f"bbox2delta: proposals and gt must have the same shape, got "
                         f"{tuple(proposals.shape)} and {tuple(gt.shape)}")
    proposals = proposals.float()
    gt = gt.float()
    px = (proposals[..., 0] + proposals[..., 2]) * 0.5
    py = (proposals[..., 1] + proposals[..., 3]) * 0.5
    pw = proposals[..., 2] - proposals[..., 0]
    ph = proposals[..., 3] - proposals[..., 1]
    gx = (gt[..., 0] + gt[..., 2]) * 0.5
    gy = (gt[..., 1] + gt[..., 3]) * 0.5
    gw = gt[..., 2] - gt[..., 0]
    gh = gt[..., 3] - gt[..., 1]
    deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1)
    means = deltas.new_tensor(means).unsqueeze(0)
    stds = deltas.new_tensor(stds).unsqueeze(0)
    return deltas.sub_(means).div_(stds)


def _clip(bboxes: Tensor, max_shape) -> Tensor:
    """Clamp ``(..., 4k)`` boxes into images of ``max_shape``: one ``(h, w[, c])``, or one per batch image."""
    if not isinstance(max_shape, Tensor):
        max_shape = bboxes.new_tensor(max_shape)
    max_shape = max_shape[..., :2].type_as(bboxes)
    if max_shape.dim() == 1:
        bboxes[..., 0::2].clamp_(min=0, max=float(max_shape[1]))
        bboxes[..., 1::2].clamp_(min=0, max=float(max_shape[0]))
        return bboxes
    if bboxes.dim() != 3 or max_shape.size(0) != bboxes.size(0):
        raise ValueError(f"delta2bbox: max_shape holds one (h, w) per image ({max_shape.size(0)}), which needs "
                         f"batched boxes (B, N, 4k) with the same B, got {tuple(bboxes.shape)}")
    max_xy = torch.cat([max_shape.flip(-1)] * (bboxes.size(-1) // 2), dim=-1).unsqueeze(-2)
    zero = bboxes.new_tensor(0)
    bboxes = torch.where(bboxes < zero, zero, bboxes)
    return torch.where(bboxes > max_xy, max_xy, bboxes)


def delta2bbox(rois: Tensor, deltas: Tensor, means: Sequence[float] = (0., 0., 0., 0.),
               stds: Sequence[float] = (1., 1., 1., 1.), max_shape=None, wh_ratio_clip: float = 16 / 1000,
               clip_border: bool = True, add_ctr_clamp: bool = False, ctr_clamp: int = 32) -> Tensor:
    """Apply ``deltas`` to ``rois``, the inverse of :func:`bbox2delta`.

    Args:
        rois: ``(N, 4)`` or ``(B, N, 4)`` prior boxes.
        deltas: ``(N, 4 * k)`` or ``(B, N, 4 * k)``: k boxes per prior (e.g.
            one per class).
        means, stds: the normalization :func:`bbox2delta` applied.
        max_shape: ``(h, w[, c])`` to clip into, or one per image for batched input.
        wh_ratio_clip: log size changes are clamped to ``|log(wh_ratio_clip)|``
            so ``exp`` cannot overflow.
        clip_border: clip to ``max_shape`` when it is given.
        add_ctr_clamp: clamp the center shift to ``ctr_clamp`` pixels and only
            bound size growth (YOLOF).

    Returns:
        Boxes shaped like ``deltas``.
    """
    if deltas.numel() == 0:
        return deltas
    num_per_roi = deltas.size(-1) // 4
    out_shape = deltas.shape
    denorm = deltas.reshape(*deltas.shape[:-1], num_per_roi, 4) * deltas.new_tensor(stds) + deltas.new_tensor(means)
    dxy, dwh = denorm[..., :2], denorm[..., 2:]

    rois = rois[..., None, :]  # one prior for the k boxes
    pxy = (rois[..., :2] + rois[..., 2:]) * 0.5
    pwh = rois[..., 2:] - rois[..., :2]
    dxy_wh = pwh * dxy
    max_ratio = abs(math.log(wh_ratio_clip))
    if add_ctr_clamp:
        dxy_wh = torch.clamp(dxy_wh, max=ctr_clamp, min=-ctr_clamp)
        dwh = torch.clamp(dwh, max=max_ratio)
    else:
        dwh = dwh.clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + dxy_wh
    gwh = pwh * dwh.exp()
    bboxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1).reshape(out_shape)
    if clip_border and max_shape is not None:
        bboxes = _clip(bboxes, max_shape)
    return bboxes


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder(BaseBBoxCoder):
    """Encode boxes as normalized ``(dx, dy, dw, dh)`` deltas from priors (R-CNN).

    Args:
        target_means, target_stds: deltas are stored as ``(delta - mean) / std``
            so that regression targets have comparable scales.
        clip_border: clip decoded boxes to the image when a ``max_shape`` is given.
        add_ctr_clamp: bound the decoded center shift to ``ctr_clamp`` pixels (YOLOF).
        ctr_clamp: see ``add_ctr_clamp``.
    """

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.), clip_border: bool = True,
                 add_ctr_clamp: bool = False, ctr_clamp: int = 32, **kwargs) -> None:
        super().__init__(**kwargs)
        for arg, value in (("target_means", target_means), ("target_stds", target_stds)):
            if len(value) != 4:
                raise ValueError(f"{type(self).__name__}: {arg} needs 4 values (x, y, w, h), got {value!r}")
        self.means = target_means
        self.stds = target_stds
        self.clip_border = clip_border
        self.add_ctr_clamp = add_ctr_clamp
        self.ctr_clamp = ctr_clamp

    def encode(self, bboxes, gt_bboxes) -> Tensor:
        """Deltas ``(N, 4)`` that move each of ``bboxes`` onto the matching ``gt_bboxes``."""
        bboxes = get_box_tensor(bboxes)
        gt_bboxes = get_box_tensor(gt_bboxes)
        if bboxes.size(0) != gt_bboxes.size(0) or bboxes.size(-1) != 4 or gt_bboxes.size(-1) != 4:
            raise ValueError(f"{type(self).__name__}.encode: bboxes and gt_bboxes must both be (N, 4), got "
                             f"{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}")
        return bbox2delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(self, bboxes, pred_bboxes: Tensor, max_shape=None,
               wh_ratio_clip: Optional[float] = 16 / 1000) -> Tensor:
        """Boxes from priors ``bboxes`` ``(N, 4)`` / ``(B, N, 4)`` and deltas ``(..., 4 * k)``."""
        bboxes = get_box_tensor(bboxes)
        if pred_bboxes.size(0) != bboxes.size(0) or (pred_bboxes.dim() == 3 and pred_bboxes.size(1) != bboxes.size(1)):
            raise ValueError(f"{type(self).__name__}.decode: pred_bboxes {tuple(pred_bboxes.shape)} does not "
                             f"match bboxes {tuple(bboxes.shape)} in the leading dims")
        return delta2bbox(bboxes, pred_bboxes, self.means, self.stds, max_shape, wh_ratio_clip, self.clip_border,
                          self.add_ctr_clamp, self.ctr_clamp)
