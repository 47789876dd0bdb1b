"""Pairwise and aligned IoU / IoF / GIoU between axis-aligned boxes."""

import torch

OVERLAP_MODES = ("iou", "iof", "giou")


def _clamp_min0(x: torch.Tensor) -> torch.Tensor:
    # Half-precision clamp is not implemented on every CPU build; go through float.
    if x.dtype == torch.float16 and not x.is_cuda:
        return x.float().clamp(min=0).half()
    return x.clamp(min=0)


def _check_boxes(name: str, boxes: torch.Tensor) -> None:
    if not isinstance(boxes, torch.Tensor):
        raise TypeError(f"bbox_overlaps: {name} must be a torch.Tensor, got {type(boxes).__name__}")
    if boxes.dim() < 2 or (boxes.size(-1) != 4 and boxes.size(-2) != 0):
        raise ValueError(f"bbox_overlaps: {name} must have shape (..., n, 4) in (x1, y1, x2, y2) order "
                         f"(or hold no box), got {tuple(boxes.shape)}")


def bbox_overlaps(bboxes1, bboxes2, mode="iou", is_aligned=False, eps=1e-6):
    """Overlap of every box in ``bboxes1`` with every box in ``bboxes2``.

    Args:
        bboxes1: ``(..., m, 4)`` boxes.
        bboxes2: ``(..., n, 4)`` boxes with the same leading (batch) dims.
        mode: ``'iou'`` (intersection over union), ``'iof'`` (intersection
            over the area of the ``bboxes1`` box) or ``'giou'`` (generalized
            IoU, in ``[-1, 1]``).
        is_aligned: compare ``bboxes1[i]`` with ``bboxes2[i]`` only (m == n).
        eps: lower bound of the denominators, so degenerate boxes give 0,
            not NaN.

    Returns:
        ``(..., m, n)``, or ``(..., m)`` when ``is_aligned``.
    """
    if mode not in OVERLAP_MODES:
        raise ValueError(f"bbox_overlaps: mode must be one of {OVERLAP_MODES}, got {mode!r}")
    _check_boxes("bboxes1", bboxes1)
    _check_boxes("bboxes2", bboxes2)
    if bboxes1.shape[:-2] != bboxes2.shape[:-2]:
        raise ValueError(f"bbox_overlaps: bboxes1 and bboxes2 need the same batch dims, got "
                         f"{tuple(bboxes1.shape[:-2])} and {tuple(bboxes2.shape[:-2])}")
    batch_shape = bboxes1.shape[:-2]
    rows, cols = bboxes1.size(-2), bboxes2.size(-2)
    if is_aligned and rows != cols:
        raise ValueError(f"bbox_overlaps: is_aligned=True needs as many boxes in bboxes1 as in bboxes2, "
                         f"got {rows} and {cols}")
    if rows * cols == 0:
        shape = batch_shape + ((rows,) if is_aligned else (rows, cols))
        return bboxes1.new_zeros(shape)

    area1 = (bboxes1[..., 2] - bboxes1[..., 0]) * (bboxes1[..., 3] - bboxes1[..., 1])
    area2 = (bboxes2[..., 2] - bboxes2[..., 0]) * (bboxes2[..., 3] - bboxes2[..., 1])
    if is_aligned:
        a, b = bboxes1, bboxes2
        area_a, area_b = area1, area2
    else:
        # Broadcast to (..., m, n, 4) views without copying.
        a, b = bboxes1[..., :, None, :], bboxes2[..., None, :, :]
        area_a, area_b = area1[..., :, None], area2[..., None, :]

    wh = _clamp_min0(torch.min(a[..., 2:], b[..., 2:]) - torch.max(a[..., :2], b[..., :2]))
    overlap = wh[..., 0] * wh[..., 1]
    union = area_a + area_b - overlap if mode in ("iou", "giou") else area_a
    eps_t = union.new_tensor([eps])
    union = torch.max(union, eps_t)
    ious = overlap / union
    if mode != "giou":
        return ious
    enclose_wh = _clamp_min0(torch.max(a[..., 2:], b[..., 2:]) - torch.min(a[..., :2], b[..., :2]))
    enclose_area = torch.max(enclose_wh[..., 0] * enclose_wh[..., 1], eps_t)
    return ious - (enclose_area - union) / enclose_area
