"""How each kind of annotation moves when the image is resized, flipped, padded or cropped.

The results-dict keys and layouts are MMCV 2.x / MMDetection 3.x's:

- ``gt_bboxes``: float32 (N, 4) ``x1, y1, x2, y2`` in pixel-edge coordinates
  (a box covering pixel columns 2..5 has x1=2, x2=6), so a horizontal flip
  maps x to ``w - x``;
- ``gt_masks``: the instances' masks, either bitmaps (uint8 (N, H, W)) or
  polygons (a list per instance of flat ``[x0, y0, x1, y1, ...]`` float arrays,
  what ``LoadAnnotations(poly2mask=False)`` gives);
- ``gt_keypoints``: float32 (N, K, 2) or (N, K, 3) with a visibility column;
- ``gt_seg_map``: an (H, W) label map;
- per-instance companions that are filtered with the boxes: ``gt_bboxes_labels``,
  ``gt_ignore_flags``, ``gt_masks``, ``gt_keypoints``, ``gt_instances_ids``.
"""

from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import imflip, imresize

#: results keys holding one entry per instance, filtered together when boxes are dropped
INSTANCE_KEYS = ("gt_bboxes", "gt_bboxes_labels", "gt_ignore_flags", "gt_masks", "gt_keypoints",
                 "gt_instances_ids")

Polygons = List[List[np.ndarray]]
Masks = Union[np.ndarray, Polygons]


def image_hw(results: Dict, owner: str) -> Tuple[int, int]:
    """(h, w) of the image the annotations live on: ``img`` if present, else ``img_shape``,
    else the segmentation map's shape; a clear KeyError when none is there."""
    img = results.get("img")
    if img is not None:
        return tuple(img.shape[:2])
    if results.get("img_shape") is not None:
        return tuple(int(v) for v in results["img_shape"][:2])
    if results.get("gt_seg_map") is not None:
        return tuple(results["gt_seg_map"].shape[:2])
    raise KeyError(f"{owner} needs the image size: results has no 'img', 'img_shape' or 'gt_seg_map' "
                   f"(keys: {', '.join(map(repr, results))})")


def record_homography(results: Dict, matrix: np.ndarray) -> None:
    """Compose ``matrix`` (3x3, maps old pixel coordinates to new) into ``results['homography_matrix']``."""
    matrix = np.asarray(matrix, dtype=np.float32)
    previous = results.get("homography_matrix")
    results["homography_matrix"] = matrix if previous is None else matrix @ previous


# ----------------------------------------------------------------------------- boxes
def as_boxes(bboxes, owner: str) -> np.ndarray:
    boxes = np.asarray(bboxes, dtype=np.float32)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{owner}: gt_bboxes must be an (N, 4) array of x1, y1, x2, y2, got shape {boxes.shape}")
    return boxes


def rescale_bboxes(bboxes: np.ndarray, scale_factor: Tuple[float, float]) -> np.ndarray:
    return (bboxes * np.tile(np.asarray(scale_factor, dtype=np.float32), 2)).astype(np.float32)


def clip_bboxes(bboxes: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """Clip to the image: x to [0, w], y to [0, h]."""
    out = bboxes.copy()
    out[:, 0::2] = np.clip(out[:, 0::2], 0, hw[1])
    out[:, 1::2] = np.clip(out[:, 1::2], 0, hw[0])
    return out


def flip_bboxes(bboxes: np.ndarray, hw: Tuple[int, int], direction: str) -> np.ndarray:
    h, w = hw
    out = bboxes.copy()
    if direction in ("horizontal", "diagonal"):
        out[:, 0], out[:, 2] = w - bboxes[:, 2], w - bboxes[:, 0]
    if direction in ("vertical", "diagonal"):
        out[:, 1], out[:, 3] = h - bboxes[:, 3], h - bboxes[:, 1]
    return out


def bboxes_inside(bboxes: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
    """True for the boxes whose overlap with the (h, w) image has a positive area."""
    h, w = hw
    width = np.minimum(bboxes[:, 2], w) - np.maximum(bboxes[:, 0], 0)
    height = np.minimum(bboxes[:, 3], h) - np.maximum(bboxes[:, 1], 0)
    return (width > 0) & (height > 0)


# ----------------------------------------------------------------------------- keypoints
def as_keypoints(keypoints, owner: str) -> np.ndarray:
    kps = np.array(keypoints, dtype=np.float32)
    if kps.ndim != 3 or kps.shape[2] not in (2, 3):
        raise ValueError(f"{owner}: gt_keypoints must be (N, K, 2) or (N, K, 3) with visibility, "
                         f"got shape {kps.shape}")
    return kps


def rescale_keypoints(kps: np.ndarray, scale_factor: Tuple[float, float],
                      clip_hw: Optional[Tuple[int, int]]) -> np.ndarray:
    out = kps.copy()
    out[..., :2] *= np.asarray(scale_factor, dtype=np.float32)
    if clip_hw is not None:
        out[..., 0] = np.clip(out[..., 0], 0, clip_hw[1])
        out[..., 1] = np.clip(out[..., 1], 0, clip_hw[0])
    return out


def flip_keypoints(kps: np.ndarray, hw: Tuple[int, int], direction: str,
                   flip_indices: Optional[Sequence[int]] = None) -> np.ndarray:
    """Mirror the coordinates; with ``flip_indices`` (MMPose's name: for each keypoint, the index
    of its left/right twin) a mirror (horizontal or vertical) also swaps the twins, since a
    reflection turns a left wrist into what looks like a right one. A diagonal flip is a
    rotation by 180 degrees and keeps them."""
    h, w = hw
    out = kps.copy()
    if direction in ("horizontal", "diagonal"):
        out[..., 0] = w - kps[..., 0]
    if direction in ("vertical", "diagonal"):
        out[..., 1] = h - kps[..., 1]
    if flip_indices is not None and direction != "diagonal":
        flip_indices = np.asarray(flip_indices, dtype=np.int64)
        if flip_indices.shape != (kps.shape[1],):
            raise ValueError(f"RandomFlip: flip_indices has {flip_indices.shape[0]} entries for "
                             f"{kps.shape[1]} keypoints")
        out = out[:, flip_indices]
    return out


def crop_keypoints(kps: np.ndarray, x1: int, y1: int, hw: Tuple[int, int]) -> np.ndarray:
    """Shift into the crop; points outside become invisible (visibility 0) and are clipped to it."""
    h, w = hw
    out = kps.copy()
    out[..., 0] -= x1
    out[..., 1] -= y1
    if out.shape[-1] == 3:
        inside = (out[..., 0] >= 0) & (out[..., 0] < w) & (out[..., 1] >= 0) & (out[..., 1] < h)
        out[..., 2] = np.where(inside, out[..., 2], 0)
    out[..., 0] = np.clip(out[..., 0], 0, w)
    out[..., 1] = np.clip(out[..., 1], 0, h)
    return out


# ----------------------------------------------------------------------------- masks
def is_polygons(masks) -> bool:
    return isinstance(masks, list)


def as_masks(masks, owner: str) -> Masks:
    if is_polygons(masks):
        return [[np.asarray(p, dtype=np.float32) for p in polys] for polys in masks]
    bitmaps = np.asarray(masks)
    if bitmaps.ndim != 3:
        raise ValueError(f"{owner}: gt_masks must be (N, H, W) bitmaps or a list of polygon lists, "
                         f"got an array of shape {bitmaps.shape}")
    return bitmaps


def _map_polygons(masks: Polygons, fn) -> Polygons:
    out = []
    for polys in masks:
        moved = []
        for p in polys:
            xy = fn(p.reshape(-1, 2).astype(np.float32))
            moved.append(xy.reshape(-1).astype(np.float32))
        out.append(moved)
    return out


def resize_masks(masks: Masks, hw: Tuple[int, int], scale_factor: Tuple[float, float]) -> Masks:
    """Bitmaps to ``hw`` by nearest neighbour; polygons scaled by ``scale_factor``."""
    if is_polygons(masks):
        factor = np.asarray(scale_factor, dtype=np.float32)
        return _map_polygons(masks, lambda xy: xy * factor)
    if len(masks) == 0:
        return np.zeros((0, *hw), dtype=masks.dtype)
    return np.stack([imresize(m, (hw[1], hw[0]), interpolation="nearest") for m in masks])


def flip_masks(masks: Masks, hw: Tuple[int, int], direction: str) -> Masks:
    if is_polygons(masks):
        h, w = hw

        def flip(xy):
            out = xy.copy()
            if direction in ("horizontal", "diagonal"):
                out[:, 0] = w - xy[:, 0]
            if direction in ("vertical", "diagonal"):
                out[:, 1] = h - xy[:, 1]
            return out
        return _map_polygons(masks, flip)
    if len(masks) == 0:
        return masks.copy()
    return np.stack([imflip(m, direction) for m in masks])


def pad_masks(masks: Masks, hw: Tuple[int, int], pad_val: float = 0) -> Masks:
    """Extend bitmaps at the bottom/right to ``hw`` with ``pad_val``; polygons do not move."""
    if is_polygons(masks):
        return masks
    out = np.full((len(masks), *hw), pad_val, dtype=masks.dtype)
    h, w = masks.shape[1:]
    out[:, :h, :w] = masks
    return out


def _clip_polygon(xy: np.ndarray, w: float, h: float) -> np.ndarray:
    """Sutherland-Hodgman: the part of a polygon inside the rectangle [0, w] x [0, h]."""
    for axis, limit, keep_low in ((0, 0.0, False), (0, w, True), (1, 0.0, False), (1, h, True)):
        if len(xy) == 0:
            break
        inside = xy[:, axis] <= limit if keep_low else xy[:, axis] >= limit
        prev = np.roll(xy, 1, axis=0)
        prev_inside = np.roll(inside, 1)
        out = []
        for p, q, p_in, q_in in zip(xy, prev, inside, prev_inside):
            if p_in != q_in:  # the edge q -> p crosses the line
                t = (limit - q[axis]) / (p[axis] - q[axis])
                out.append(q + t * (p - q))
            if p_in:
                out.append(p)
        xy = np.array(out, dtype=np.float32).reshape(-1, 2)
    return xy


def crop_masks(masks: Masks, x1: int, y1: int, x2: int, y2: int) -> Masks:
    """Keep the window [x1, x2) x [y1, y2): bitmaps are sliced, polygons shifted and clipped
    to it (parts left with fewer than 3 vertices are dropped)."""
    if is_polygons(masks):
        w, h = x2 - x1, y2 - y1
        out = []
        for polys in masks:
            kept = []
            for p in polys:
                xy = _clip_polygon(p.reshape(-1, 2) - np.array([x1, y1], np.float32), w, h)
                if len(xy) >= 3:
                    kept.append(xy.reshape(-1))
            out.append(kept)
        return out
    return masks[:, y1:y2, x1:x2]


def masks_to_bboxes(masks: Masks, hw: Tuple[int, int]) -> np.ndarray:
    """The tight box of each mask (pixel-edge coordinates); zeros for an empty mask."""
    if is_polygons(masks):
        masks = polygons_to_bitmaps(masks, *hw)
    boxes = np.zeros((len(masks), 4), dtype=np.float32)
    cols, rows = masks.any(axis=1), masks.any(axis=2)
    for i in range(len(masks)):
        xs, ys = np.nonzero(cols[i])[0], np.nonzero(rows[i])[0]
        if len(xs) and len(ys):
            boxes[i] = (xs[0], ys[0], xs[-1] + 1, ys[-1] + 1)
    return boxes


def select_instances(results: Dict, keep: np.ndarray) -> None:
    """Index every per-instance key present by the boolean ``keep``."""
    index = np.nonzero(keep)[0]
    for key in INSTANCE_KEYS:
        value = results.get(key)
        if value is None:
            continue
        if len(value) != len(keep):
            raise ValueError(f"{key} has {len(value)} entries for {len(keep)} boxes; the per-instance keys "
                             f"({', '.join(INSTANCE_KEYS)}) must list the same instances")
        if is_polygons(value):
            results[key] = [value[i] for i in index]
        else:
            results[key] = np.asarray(value)[index]


# ----------------------------------------------------------------------------- decoding
def polygons_to_bitmap(polygons: Sequence, h: int, w: int) -> np.ndarray:
    """One (h, w) uint8 mask: the union of the polygon parts (flat xy lists in pixel-edge
    coordinates). A pixel belongs to a part when its centre lies inside it (even-odd rule),
    the rule COCO's rasterizer follows closely; cv2.fillPoly also fills every pixel the
    outline touches, about 15% more on slanted outlines than COCO's masks.

    A scanline fill in numpy: on each pixel row's centre line, the crossings with the
    polygon's edges toggle inside/outside for the pixels whose centres lie right of them.
    """
    mask = np.zeros((h, w), dtype=bool)
    for part in polygons:
        xy = np.asarray(part, dtype=np.float64).reshape(-1, 2)
        if len(xy) < 3:
            continue
        x0, y0 = xy[:, 0], xy[:, 1]
        x1, y1 = np.roll(x0, -1), np.roll(y0, -1)
        first = max(int(np.floor(y0.min() - 0.5)), 0)
        last = min(int(np.ceil(y0.max() - 0.5)) + 1, h)
        if last <= first:
            continue
        cy = np.arange(first, last, dtype=np.float64)[:, None] + 0.5
        crosses = (y0 <= cy) != (y1 <= cy)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x0 + (cy - y0) * (x1 - x0) / (y1 - y0)
        rows, edges = np.nonzero(crosses)
        cols = np.clip(np.floor(xc[rows, edges] - 0.5) + 1, 0, w).astype(np.int64)
        if len(cols) == 0:
            continue
        left, right = int(cols.min()), int(cols.max())  # the crossings' column span: nothing is inside elsewhere
        toggles = np.zeros((last - first, right - left + 1), dtype=np.int32)
        np.add.at(toggles, (rows, cols - left), 1)
        mask[first:last, left:right] |= (np.cumsum(toggles, axis=1)[:, :right - left] % 2).astype(bool)
    return mask.astype(np.uint8)


def polygons_to_bitmaps(masks: Polygons, h: int, w: int) -> np.ndarray:
    return np.stack([polygons_to_bitmap(p, h, w) for p in masks]) if masks else np.zeros((0, h, w), np.uint8)


def _rle_counts(counts: Union[str, bytes]) -> List[int]:
    """Decode COCO's compressed RLE string: 5 bits a character (offset 48), a 6th bit
    continues the number, a sign bit on the last chunk; from the third run on each
    number is stored as the difference to the run two places back."""
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    runs: List[int] = []
    pos = 0
    while pos < len(counts):
        value, shift, more = 0, 0, True
        while more:
            chunk = ord(counts[pos]) - 48
            value |= (chunk & 0x1F) << shift
            more = bool(chunk & 0x20)
            pos += 1
            shift += 5
            if not more and chunk & 0x10:
                value |= -1 << shift
        if len(runs) > 2:
            value += runs[-2]
        runs.append(value)
    return runs


def rle_to_bitmap(rle: Dict) -> np.ndarray:
    """A COCO run-length mask (``{'size': [h, w], 'counts': list or compressed str}``) as (h, w) uint8.

    Runs alternate background and foreground, starting with background, in
    column-major order.
    """
    h, w = (int(v) for v in rle["size"])
    counts = rle["counts"]
    runs = list(counts) if isinstance(counts, (list, tuple)) else _rle_counts(counts)
    if sum(runs) != h * w:
        raise ValueError(f"RLE runs cover {sum(runs)} pixels, but size {h}x{w} has {h * w}")
    flat = np.repeat(np.arange(len(runs)) % 2, runs).astype(np.uint8)
    return flat.reshape(w, h).T.copy()
