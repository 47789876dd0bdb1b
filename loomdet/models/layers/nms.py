"""Non-maximum suppression in plain torch (no compiled op, no torchvision).

``nms`` and ``batched_nms`` follow ``mmcv.ops`` and ``multiclass_nms``
follows MMDetection's ``multiclass_nms``: same arguments, same outputs, same
kept boxes. Suppression is greedy in descending score order and removes a box
whose IoU with a kept one is *strictly* above the threshold; equal scores keep
their input order (a stable sort), so results are reproducible.
"""

import warnings
from typing import Optional, Tuple

import numpy as np
import torch
from torch import Tensor

NMS_TYPES = ("nms",)

# Rows of the IoU matrix computed at once: bounds the float temporaries, and
# lets each block skip the columns left of it (only j > i is ever read).
_BLOCK_ROWS = 256


def _suppression_matrix(boxes: Tensor, iou_threshold: float, offset: int) -> Tensor:
    """``sup[i, j]`` for ``j > i``: IoU of sorted boxes i and j is above the threshold.

    Entries on and below the diagonal are left False; the greedy pass never reads them.
    """
    x1, y1, x2, y2 = (c.contiguous() for c in boxes.unbind(-1))
    areas = (x2 - x1 + offset) * (y2 - y1 + offset)
    n = boxes.size(0)
    sup = torch.zeros((n, n), dtype=torch.bool, device=boxes.device)
    for start in range(0, n, _BLOCK_ROWS):
        rows, cols = slice(start, start + _BLOCK_ROWS), slice(start, n)
        w = torch.minimum(x2[rows, None], x2[None, cols]).sub_(torch.maximum(x1[rows, None], x1[None, cols]))
        h = torch.minimum(y2[rows, None], y2[None, cols]).sub_(torch.maximum(y1[rows, None], y1[None, cols]))
        inter = w.add_(offset).clamp_(min=0).mul_(h.add_(offset).clamp_(min=0))
        # Same operation order as mmcv's kernels: inter / ((area_i + area_j) - inter).
        union = (areas[rows, None] + areas[None, cols]).sub_(inter)
        sup[rows, cols] = inter.div_(union) > iou_threshold
    return sup


def _greedy_keep(boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int) -> Tensor:
    """Indices of the kept boxes, in descending score order."""
    if boxes.size(0) == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    with torch.no_grad():
        sup = _suppression_matrix(boxes.detach()[order], float(iou_threshold), offset)
    # The greedy pass is inherently sequential; like mmcv's CUDA op it runs on
    # the host over the precomputed bool matrix, one row per kept box.
    sup = sup.cpu().numpy()
    removed = np.zeros(sup.shape[0], dtype=bool)
    for i in range(sup.shape[0]):
        if not removed[i]:
            removed[i + 1:] |= sup[i, i + 1:]
    kept = torch.from_numpy(np.flatnonzero(~removed)).to(order.device)
    return order[kept]


def nms(boxes, scores, iou_threshold: float, offset: int = 0, score_threshold: float = 0,
        max_num: int = -1) -> Tuple:
    """Greedy NMS over ``(N, 4)`` boxes.

    Args:
        boxes: ``(N, 4)`` tensor or array, ``(x1, y1, x2, y2)``.
        scores: ``(N,)`` scores.
        iou_threshold: boxes overlapping a kept box by more than this go.
        offset: 0, or 1 for the legacy ``x2 - x1 + 1`` width convention.
        score_threshold: when > 0, boxes scoring at or below it are dropped first.
        max_num: keep at most this many (all when <= 0).

    Returns:
        ``(dets, keep)``: ``dets`` ``(K, 5)`` are the kept boxes with their
        score appended and ``keep`` their indices into the input, both in
        descending score order; numpy in gives numpy out.
    """
    if not isinstance(boxes, (Tensor, np.ndarray)) or not isinstance(scores, (Tensor, np.ndarray)):
        raise TypeError(f"nms: boxes and scores must be tensors or numpy arrays, got "
                        f"{type(boxes).__name__} and {type(scores).__name__}")
    is_numpy = isinstance(boxes, np.ndarray)
    boxes = torch.from_numpy(boxes) if isinstance(boxes, np.ndarray) else boxes
    scores = torch.from_numpy(scores) if isinstance(scores, np.ndarray) else scores
    if boxes.dim() != 2 or boxes.size(1) != 4:
        raise ValueError(f"nms: boxes must have shape (N, 4), got {tuple(boxes.shape)}")
    if scores.dim() != 1 or scores.size(0) != boxes.size(0):
        raise ValueError(f"nms: scores must have shape ({boxes.size(0)},) to match boxes, got {tuple(scores.shape)}")
    if offset not in (0, 1):
        raise ValueError(f"nms: offset must be 0 or 1, got {offset!r}")

    valid_inds = None
    kept_boxes, kept_scores = boxes, scores
    if score_threshold > 0:
        valid_mask = scores > score_threshold
        kept_boxes, kept_scores = boxes[valid_mask], scores[valid_mask]
        valid_inds = torch.nonzero(valid_mask, as_tuple=False).squeeze(1)
    inds = _greedy_keep(kept_boxes, kept_scores, iou_threshold, offset)
    if max_num > 0:
        inds = inds[:max_num]
    if valid_inds is not None:
        inds = valid_inds[inds]
    dets = torch.cat((boxes[inds], scores[inds].reshape(-1, 1)), dim=1)
    if is_numpy:
        return dets.cpu().numpy(), inds.cpu().numpy()
    return dets, inds


def _nms_op(nms_cfg: dict):
    nms_type = nms_cfg.pop("type", "nms")
    if nms_type not in NMS_TYPES:
        raise ValueError(f"batched_nms: nms_cfg type must be one of {NMS_TYPES}, got {nms_type!r}")
    if "iou_thr" in nms_cfg:
        warnings.warn("batched_nms: nms_cfg key 'iou_thr' is deprecated, use 'iou_threshold'", DeprecationWarning,
                      stacklevel=3)
        nms_cfg["iou_threshold"] = nms_cfg.pop("iou_thr")
    return nms


def batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg: Optional[dict],
                class_agnostic: bool = False) -> Tuple[Tensor, Tensor]:
    """NMS that only suppresses boxes sharing the same ``idxs`` value (class).

    Boxes of each class are shifted by a class-dependent offset so that boxes
    of different classes can never overlap, then one NMS runs over all of
    them. With ``split_thr`` (default 10000) boxes or more, NMS runs class by
    class instead, to bound memory; ``max_num`` then caps the merged result.

    Args:
        boxes: ``(N, 4)``.
        scores: ``(N,)``.
        idxs: ``(N,)`` class (or any group) index per box.
        nms_cfg: ``dict(type='nms', iou_threshold=..., [offset, score_threshold,
            max_num, split_thr, class_agnostic])``; ``None`` skips NMS and
            only sorts by score.
        class_agnostic: suppress across classes too (``nms_cfg`` may override).

    Returns:
        ``(dets, keep)``: ``(K, 5)`` boxes with scores and their input
        indices, in descending score order.
    """
    if nms_cfg is None:
        scores, inds = scores.sort(descending=True, stable=True)
        return torch.cat([boxes[inds], scores[:, None]], -1), inds
    if boxes.size(0) == 0:
        return boxes.new_zeros((0, boxes.size(-1) + 1)), torch.zeros(0, dtype=torch.long, device=boxes.device)

    nms_cfg_ = dict(nms_cfg)
    class_agnostic = nms_cfg_.pop("class_agnostic", class_agnostic)
    if class_agnostic:
        boxes_for_nms = boxes
    else:
        # mmcv shifts by (max + 1) per class, which separates classes only when
        # no coordinate is below -1; using the full extent keeps them apart for
        # any coordinates and gives the same offsets for non-negative boxes.
        low = torch.clamp(boxes.min(), max=0)
        offsets = idxs.to(boxes) * (boxes.max() - low + torch.tensor(1).to(boxes))
        boxes_for_nms = boxes + offsets[:, None]

    nms_op = _nms_op(nms_cfg_)
    split_thr = nms_cfg_.pop("split_thr", 10000)
    if boxes_for_nms.shape[0] < split_thr:
        dets, keep = nms_op(boxes_for_nms, scores, **nms_cfg_)
        boxes = boxes[keep]
        scores = dets[:, -1]
    else:
        max_num = nms_cfg_.pop("max_num", -1)
        total_mask = scores.new_zeros(scores.size(), dtype=torch.bool)
        scores_after_nms = scores.new_zeros(scores.size())
        for group in torch.unique(idxs):
            mask = (idxs == group).nonzero(as_tuple=False).view(-1)
            dets, keep = nms_op(boxes_for_nms[mask], scores[mask], **nms_cfg_)
            total_mask[mask[keep]] = True
            scores_after_nms[mask[keep]] = dets[:, -1]
        keep = total_mask.nonzero(as_tuple=False).view(-1)
        scores, inds = scores_after_nms[keep].sort(descending=True, stable=True)
        keep = keep[inds]
        boxes = boxes[keep]
        if max_num > 0:
            keep, boxes, scores = keep[:max_num], boxes[:max_num], scores[:max_num]
    return torch.cat([boxes, scores[:, None]], -1), keep


def multiclass_nms(multi_bboxes: Tensor, multi_scores: Tensor, score_thr: float, nms_cfg: dict,
                   max_num: int = -1, score_factors: Optional[Tensor] = None, return_inds: bool = False,
                   box_dim: int = 4):
    """Per-class NMS over dense predictions, as detection heads use at test time.

    Args:
        multi_bboxes: ``(n, box_dim)`` shared by all classes, or
            ``(n, num_classes * box_dim)`` one box per class.
        multi_scores: ``(n, num_classes + 1)``; the last column is background
            and is ignored.
        score_thr: boxes scoring at or below it are dropped before NMS.
        nms_cfg: as for :func:`batched_nms`.
        max_num: keep at most this many after NMS (all when <= 0).
        score_factors: ``(n,)`` factors (e.g. centerness) multiplied into the
            scores after thresholding.
        return_inds: also return, for each kept box, its index into the
            flattened ``(n * num_classes)`` candidates.
        box_dim: 4 for axis-aligned boxes.

    Returns:
        ``(dets, labels)`` or ``(dets, labels, inds)``: ``dets`` ``(k, box_dim + 1)``,
        ``labels`` ``(k,)`` class indices from 0.
    """
    num_classes = multi_scores.size(1) - 1
    if multi_bboxes.shape[1] > box_dim:
        bboxes = multi_bboxes.view(multi_scores.size(0), -1, box_dim)
    else:
        bboxes = multi_bboxes[:, None].expand(multi_scores.size(0), num_classes, box_dim)
    scores = multi_scores[:, :-1]
    labels = torch.arange(num_classes, dtype=torch.long, device=scores.device).view(1, -1).expand_as(scores)

    bboxes = bboxes.reshape(-1, box_dim)
    scores = scores.reshape(-1)
    labels = labels.reshape(-1)
    valid_mask = scores > score_thr
    # Thresholding first, then weighting, keeps boxes whose factor is small.
    if score_factors is not None:
        score_factors = score_factors.view(-1, 1).expand(multi_scores.size(0), num_classes).reshape(-1)
        scores = scores * score_factors
    inds = valid_mask.nonzero(as_tuple=False).squeeze(1)
    bboxes, scores, labels = bboxes[inds], scores[inds], labels[inds]

    if bboxes.numel() == 0:
        dets = torch.cat([bboxes, scores[:, None]], -1)
        return (dets, labels, inds) if return_inds else (dets, labels)

    dets, keep = batched_nms(bboxes, scores, labels, nms_cfg)
    if max_num > 0:
        dets, keep = dets[:max_num], keep[:max_num]
    return (dets, labels[keep], inds[keep]) if return_inds else (dets, labels[keep])
