"""The per-instance keys of a detection results dict, read and subset together.

Boxes travel through a pipeline as ``gt_bboxes``, a float32 (N, 4) array of
(x1, y1, x2, y2) pixels; ``gt_bboxes_labels`` (int64), ``gt_ignore_flags``
(bool) and ``gt_masks`` (N x H x W bitmaps) have one row per box. A transform
that drops boxes drops the same rows of all of them.
"""

from typing import Dict

import numpy as np

#: the keys that hold one row per ground-truth instance
INSTANCE_KEYS = ("gt_bboxes", "gt_bboxes_labels", "gt_ignore_flags", "gt_masks")


def as_box_array(boxes, owner: str, key: str = "gt_bboxes") -> np.ndarray:
    """``boxes`` (array, tensor, or a box list with ``.tensor``) as a float32 (N, 4) array."""
    boxes = getattr(boxes, "tensor", boxes)
    if hasattr(boxes, "detach"):
        boxes = boxes.detach().cpu().numpy()
    boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{owner}: results[{key!r}] must be an (N, 4) array of (x1, y1, x2, y2) boxes, "
                         f"got shape {boxes.shape}")
    return boxes


def masks_array(masks, owner: str) -> np.ndarray:
    """``gt_masks`` as an (N, H, W) array (bitmaps, one per box)."""
    masks = np.asarray(masks)
    if masks.ndim != 3:
        raise ValueError(f"{owner}: results['gt_masks'] must be (N, H, W) bitmaps, got shape {masks.shape}")
    return masks


def select_instances(results: Dict, keep: np.ndarray) -> None:
    """Keep rows ``keep`` (bool mask or indices) of every per-instance key present."""
    for key in INSTANCE_KEYS:
        value = results.get(key)
        if value is not None:
            results[key] = value[keep]


def check_instance_counts(results: Dict, owner: str) -> int:
    """The number of boxes; a ValueError if the per-instance keys disagree on it."""
    sizes = {key: len(results[key]) for key in INSTANCE_KEYS if results.get(key) is not None}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"{owner}: the per-instance keys have different lengths: {sizes}")
    return next(iter(sizes.values()), 0)
