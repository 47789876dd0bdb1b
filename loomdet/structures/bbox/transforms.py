"""Conversions between box encodings, image spaces and RoI layouts."""

from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


def _is_box_list(boxes) -> bool:
    """A box-list object (MMDetection's ``BaseBoxes`` shape): data in ``.tensor``."""
    return not isinstance(boxes, Tensor) and isinstance(getattr(boxes, "tensor", None), Tensor)


def get_box_tensor(boxes) -> Tensor:
    """The raw tensor of ``boxes``: a tensor passes through, a box list gives ``.tensor``."""
    return boxes.tensor if _is_box_list(boxes) else boxes


def empty_box_as(boxes):
    """No boxes, of the same kind, dtype and device as ``boxes``."""
    if _is_box_list(boxes) and hasattr(boxes, "empty_boxes"):
        return boxes.empty_boxes()
    return boxes.new_zeros(0, 4)


def get_box_wh(boxes) -> Tuple[Tensor, Tensor]:
    """Widths and heights of ``(n, 4)`` boxes."""
    if _is_box_list(boxes) and hasattr(boxes, "widths"):
        return boxes.widths, boxes.heights
    return boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]


def cat_boxes(data_list: List, dim: int = 0):
    """Concatenate tensors, or box lists through their own ``cat``."""
    if data_list and _is_box_list(data_list[0]) and hasattr(data_list[0], "cat"):
        return data_list[0].cat(data_list, dim=dim)
    return torch.cat(data_list, dim=dim)


def stack_boxes(data_list: List, dim: int = 0):
    """Stack tensors, or box lists through their own ``stack``."""
    if data_list and _is_box_list(data_list[0]) and hasattr(data_list[0], "stack"):
        return data_list[0].stack(data_list, dim=dim)
    return torch.stack(data_list, dim=dim)


def scale_boxes(boxes, scale_factor: Tuple[float, float]):
    """Multiply x coordinates by ``scale_factor[0]`` and y by ``scale_factor[1]``.

    A box list is rescaled in place through its ``rescale_``; a tensor of
    ``(..., 2k)`` coordinates is treated as k (x, y) points.
    """
    if _is_box_list(boxes) and hasattr(boxes, "rescale_"):
        boxes.rescale_(scale_factor)
        return boxes
    if len(scale_factor) != 2:
        raise ValueError(f"scale_boxes: scale_factor must be (w_scale, h_scale), got {scale_factor!r}")
    factors = boxes.new_tensor(scale_factor).repeat((1, boxes.size(-1) // 2))
    return boxes * factors


def find_inside_bboxes(bboxes: Tensor, img_h: int, img_w: int) -> Tensor:
    """A mask of the ``(n, 4)`` boxes that overlap the image at least partly."""
    return (bboxes[:, 0] < img_w) & (bboxes[:, 2] > 0) & (bboxes[:, 1] < img_h) & (bboxes[:, 3] > 0)


def bbox_flip(bboxes: Tensor, img_shape: Sequence[int], direction: str = "horizontal") -> Tensor:
    """Mirror ``(..., 4k)`` boxes inside an image of shape ``(h, w, ...)``."""
    if bboxes.shape[-1] % 4 != 0:
        raise ValueError(f"bbox_flip: bboxes must have 4k values in the last dim, got {tuple(bboxes.shape)}")
    if direction not in FLIP_DIRECTIONS:
        raise ValueError(f"bbox_flip: direction must be one of {FLIP_DIRECTIONS}, got {direction!r}")
    h, w = img_shape[0], img_shape[1]
    flipped = bboxes.clone()
    if direction in ("horizontal", "diagonal"):
        flipped[..., 0::4] = w - bboxes[..., 2::4]
        flipped[..., 2::4] = w - bboxes[..., 0::4]
    if direction in ("vertical", "diagonal"):
        flipped[..., 1::4] = h - bboxes[..., 3::4]
        flipped[..., 3::4] = h - bboxes[..., 1::4]
    return flipped


def bbox_mapping(bboxes: Tensor, img_shape: Sequence[int], scale_factor, flip: bool,
                 flip_direction: str = "horizontal") -> Tensor:
    """Boxes of the original image mapped to a rescaled (and maybe flipped) test image."""
    new_bboxes = bboxes * bboxes.new_tensor(scale_factor)
    return bbox_flip(new_bboxes, img_shape, flip_direction) if flip else new_bboxes


def bbox_mapping_back(bboxes: Tensor, img_shape: Sequence[int], scale_factor, flip: bool,
                      flip_direction: str = "horizontal") -> Tensor:
    """The inverse of :func:`bbox_mapping`: test-image boxes back to the original image."""
    new_bboxes = bbox_flip(bboxes, img_shape, flip_direction) if flip else bboxes
    new_bboxes = new_bboxes.reshape(-1, 4) / new_bboxes.new_tensor(scale_factor)
    return new_bboxes.view(bboxes.shape)


def bbox2roi(bbox_list: Sequence) -> Tensor:
    """Per-image box lists -> one ``(n, 5)`` tensor of ``(img_index, x1, y1, x2, y2)`` rows."""
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        bboxes = get_box_tensor(bboxes)
        img_inds = bboxes.new_full((bboxes.size(0), 1), img_id)
        rois.append(torch.cat([img_inds, bboxes], dim=-1))
    return torch.cat(rois, 0)


def roi2bbox(rois: Tensor) -> List[Tensor]:
    """The inverse of :func:`bbox2roi`, one tensor per image index present."""
    return [rois[rois[:, 0] == img_id.item(), 1:] for img_id in torch.unique(rois[:, 0].cpu(), sorted=True)]


def bbox_rescale(bboxes: Tensor, scale_factor: float = 1.0) -> Tensor:
    """Grow or shrink ``(n, 4)`` boxes (or ``(n, 5)`` RoIs) around their centers."""
    has_index = bboxes.size(1) == 5
    boxes = bboxes[:, 1:] if has_index else bboxes
    cx = (boxes[:, 0] + boxes[:, 2]) * 0.5
    cy = (boxes[:, 1] + boxes[:, 3]) * 0.5
    w = (boxes[:, 2] - boxes[:, 0]) * scale_factor
    h = (boxes[:, 3] - boxes[:, 1]) * scale_factor
    coords = [cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h]
    if has_index:
        coords.insert(0, bboxes[:, 0])
    return torch.stack(coords, dim=-1)


def bbox_cxcywh_to_xyxy(bbox: Tensor) -> Tensor:
    """``(cx, cy, w, h)`` -> ``(x1, y1, x2, y2)`` over the last dim."""
    cx, cy, w, h = bbox.split((1, 1, 1, 1), dim=-1)
    return torch.cat([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=-1)


def bbox_xyxy_to_cxcywh(bbox: Tensor) -> Tensor:
    """``(x1, y1, x2, y2)`` -> ``(cx, cy, w, h)`` over the last dim."""
    x1, y1, x2, y2 = bbox.split((1, 1, 1, 1), dim=-1)
    return torch.cat([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dim=-1)


def _clip_to_shape(bboxes: Tensor, max_shape) -> Tensor:
    """Clamp ``(..., 4k)`` boxes into ``[0, w] x [0, h]``.

    ``max_shape`` is one ``(h, w[, c])`` for every box, or one per image when
    the boxes are batched ``(B, n, 4k)``.
    """
    if not isinstance(max_shape, Tensor):
        max_shape = bboxes.new_tensor(max_shape)
    max_shape = max_shape[..., :2].to(bboxes.dtype)
    if max_shape.dim() == 2 and (bboxes.dim() != 3 or max_shape.size(0) != bboxes.size(0)):
        raise ValueError(f"max_shape holds one (h, w) per image ({max_shape.size(0)} images), which needs "
                         f"boxes of shape (B, n, 4) with the same B, got {tuple(bboxes.shape)}")
    # (h, w) -> (w, h, w, h, ...) matching the coordinate order.
    max_xy = torch.cat([max_shape.flip(-1)] * (bboxes.size(-1) // 2), dim=-1)
    if max_xy.dim() == 2:
        max_xy = max_xy.unsqueeze(-2)
    zero = bboxes.new_tensor(0)
    bboxes = torch.where(bboxes < zero, zero, bboxes)
    return torch.where(bboxes > max_xy, max_xy, bboxes)


def distance2bbox(points: Tensor, distance: Tensor, max_shape=None) -> Tensor:
    """Boxes from points and their (left, top, right, bottom) distances to the box sides.

    Args:
        points: ``(n, 2)`` or ``(B, n, 2)``.
        distance: ``(n, 4)`` or ``(B, n, 4)``.
        max_shape: ``(h, w[, c])``, or one per image for batched input, to
            clip the boxes into the image.
    """
    bboxes = torch.stack([points[..., 0] - distance[..., 0], points[..., 1] - distance[..., 1],
                          points[..., 0] + distance[..., 2], points[..., 1] + distance[..., 3]], -1)
    if max_shape is not None:
        bboxes = _clip_to_shape(bboxes, max_shape)
    return bboxes


def bbox2distance(points: Tensor, bbox: Tensor, max_dis: Optional[float] = None, eps: float = 0.1) -> Tensor:
    """Distances from ``points`` to the four sides of ``bbox``, the inverse of :func:`distance2bbox`.

    With ``max_dis`` each distance is clamped into ``[0, max_dis - eps]`` so a
    target stays strictly below the largest distance bin.
    """
    dists = torch.stack([points[..., 0] - bbox[..., 0], points[..., 1] - bbox[..., 1],
                         bbox[..., 2] - points[..., 0], bbox[..., 3] - points[..., 1]], -1)
    if max_dis is not None:
        dists = dists.clamp(min=0, max=max_dis - eps)
    return dists


__all__ = [
    "get_box_tensor", "empty_box_as", "get_box_wh", "cat_boxes", "stack_boxes", "scale_boxes",
    "find_inside_bboxes", "bbox_flip", "bbox_mapping", "bbox_mapping_back", "bbox2roi", "roi2bbox",
    "bbox_rescale", "bbox_cxcywh_to_xyxy", "bbox_xyxy_to_cxcywh", "distance2bbox", "bbox2distance",
]
