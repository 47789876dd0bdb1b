"""Geometric augmentations of MMDetection: SSD's Expand and MinIoURandomCrop, YOLOX's
RandomAffine. They move the image together with its boxes (and masks, segmentation map)."""

import math
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from loomcv.transforms import BaseTransform, cache_randomness
from loomcv.validation import check, check_prob, check_range

from ...registry import TRANSFORMS
from .instances import as_box_array, masks_array, select_instances


def box_iou(patch: np.ndarray, boxes: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """IoU of one (x1, y1, x2, y2) box with each of ``boxes`` (N, 4)."""
    ix1 = np.maximum(patch[0], boxes[:, 0])
    iy1 = np.maximum(patch[1], boxes[:, 1])
    ix2 = np.minimum(patch[2], boxes[:, 2])
    iy2 = np.minimum(patch[3], boxes[:, 3])
    inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
    area_patch = (patch[2] - patch[0]) * (patch[3] - patch[1])
    area_boxes = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area_patch + area_boxes - inter, eps)


@TRANSFORMS.register_module()
class Expand(BaseTransform):
    """Zoom out: with probability ``prob``, place the image at a random spot of a canvas
    ``ratio`` times its size (ratio from ``ratio_range``) filled with ``mean``.

    Boxes move by the offset, so they cover the same pixels; masks and the
    segmentation map (filled with ``seg_ignore_label``) grow with the canvas.

    Args:
        mean: the fill value per channel, given in RGB when ``to_rgb`` (then reversed for BGR images).
        to_rgb: ``mean`` is in RGB order.
        ratio_range: (min, max) canvas-to-image size ratio, min >= 1.
        seg_ignore_label: fill of the expanded segmentation map (needed when gt_seg_map is present).
        prob: probability of expanding.

    Required Keys: img, gt_bboxes (optional), gt_masks (optional), gt_seg_map (optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_masks, gt_seg_map
    Added Keys: none
    """

    def __init__(self, mean: Sequence[float] = (0, 0, 0), to_rgb: bool = True,
                 ratio_range: Sequence[float] = (1, 4), seg_ignore_label: int = None, prob: float = 0.5):
        check(isinstance(mean, (list, tuple)) and len(mean) > 0, self,
              f"mean must be a sequence of per-channel fill values, got {mean!r}")
        self.to_rgb = to_rgb
        self.ratio_range = ratio_range
        self.mean = tuple(mean[::-1]) if to_rgb else tuple(mean)
        self.min_ratio, self.max_ratio = check_range(self, "ratio_range", ratio_range, low=1)
        self.seg_ignore_label = seg_ignore_label
        self.prob = check_prob(self, "prob", prob)

    @cache_randomness
    def _random_prob(self) -> float:
        return np.random.uniform(0, 1)

    @cache_randomness
    def _random_ratio(self) -> float:
        return np.random.uniform(self.min_ratio, self.max_ratio)

    @cache_randomness
    def _random_left_top(self, ratio: float, h: int, w: int) -> Tuple[int, int]:
        left = int(np.random.uniform(0, w * ratio - w))
        top = int(np.random.uniform(0, h * ratio - h))
        return left, top

    def transform(self, results: Dict) -> Dict:
        if self._random_prob() > self.prob:
            return results
        owner = type(self).__name__
        if "img" not in results:
            raise KeyError(f"{owner} needs results['img']; got keys {list(results)}")
        img = results["img"]
        h, w = img.shape[:2]
        ratio = self._random_ratio()
        new_h, new_w = int(h * ratio), int(w * ratio)
        if img.ndim == 3:
            check(len(self.mean) in (1, img.shape[2]), self,
                  f"mean has {len(self.mean)} values but the image has {img.shape[2]} channels")
            canvas = np.empty((new_h, new_w, img.shape[2]), img.dtype)
            canvas[...] = np.asarray(self.mean, dtype=img.dtype)
        else:
            canvas = np.full((new_h, new_w), self.mean[0], img.dtype)
        left, top = self._random_left_top(ratio, h, w)
        canvas[top:top + h, left:left + w] = img
        results["img"] = canvas
        results["img_shape"] = canvas.shape[:2]
        if results.get("gt_bboxes") is not None:
            boxes = as_box_array(results["gt_bboxes"], owner)
            results["gt_bboxes"] = boxes + np.array([left, top, left, top], np.float32)
        if results.get("gt_masks") is not None:
            masks = masks_array(results["gt_masks"], owner)
            grown = np.zeros((len(masks), new_h, new_w), masks.dtype)
            grown[:, top:top + h, left:left + w] = masks
            results["gt_masks"] = grown
        if results.get("gt_seg_map") is not None:
            check(self.seg_ignore_label is not None, self,
                  "results has gt_seg_map: give seg_ignore_label, the label of the added border")
            seg = results["gt_seg_map"]
            grown = np.full((new_h, new_w), self.seg_ignore_label, seg.dtype)
            grown[top:top + h, left:left + w] = seg
            results["gt_seg_map"] = grown
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(mean={self.mean}, to_rgb={self.to_rgb}, ratio_range={self.ratio_range}, "
                f"seg_ignore_label={self.seg_ignore_label}, prob={self.prob})")


@TRANSFORMS.register_module()
class MinIoURandomCrop(BaseTransform):
    """SSD's crop: pick a minimum IoU from ``(1, *min_ious, 0)`` (1 = keep the image as is), then
    try up to 50 crops (sides >= ``min_crop_size`` of the image, aspect in [0.5, 2]) until one
    has at least that IoU with every box and contains the centre of at least one box.

    Boxes whose centre lies inside the crop are kept (shifted, and clipped to the
    crop with ``bbox_clip_border``); the others are dropped with their labels,
    ignore flags and masks. When all 50 tries fail a new IoU is drawn.

    Required Keys: img, gt_bboxes, gt_bboxes_labels (optional), gt_masks (optional),
        gt_ignore_flags (optional), gt_seg_map (optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels, gt_masks, gt_ignore_flags, gt_seg_map
    Added Keys: none
    """

    def __init__(self, min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size: float = 0.3,
                 bbox_clip_border: bool = True):
        check(isinstance(min_ious, (list, tuple)) and all(isinstance(v, (int, float)) and 0 <= v <= 1
                                                          for v in min_ious), self,
              f"min_ious must be a sequence of IoU thresholds in [0, 1], got {min_ious!r}")
        check(isinstance(min_crop_size, (int, float)) and 0 < min_crop_size <= 1, self,
              f"min_crop_size must be a fraction in (0, 1], got {min_crop_size!r}")
        self.min_ious = min_ious
        self.sample_mode = (1, *min_ious, 0)
        self.min_crop_size = min_crop_size
        self.bbox_clip_border = bbox_clip_border

    @cache_randomness
    def _random_mode(self) -> float:
        return np.random.choice(self.sample_mode)

    @staticmethod
    def _centers_inside(boxes: np.ndarray, patch: np.ndarray) -> np.ndarray:
        cx = (boxes[:, 0] + boxes[:, 2]) / 2
        cy = (boxes[:, 1] + boxes[:, 3]) / 2
        return (cx > patch[0]) & (cy > patch[1]) & (cx < patch[2]) & (cy < patch[3])

    def transform(self, results: Dict) -> Dict:
        owner = type(self).__name__
        for key in ("img", "gt_bboxes"):
            if key not in results:
                raise KeyError(f"{owner} needs results[{key!r}] (load annotations first); got keys {list(results)}")
        img = results["img"]
        boxes = as_box_array(results["gt_bboxes"], owner)
        h, w = img.shape[:2]
        while True:
            mode = self._random_mode()
            self.mode = mode
            if mode == 1:
                return results
            for _ in range(50):
                new_w = np.random.uniform(self.min_crop_size * w, w)
                new_h = np.random.uniform(self.min_crop_size * h, h)
                if new_h / new_w < 0.5 or new_h / new_w > 2:
                    continue
                left = np.random.uniform(w - new_w)
                top = np.random.uniform(h - new_h)
                patch = np.array((int(left), int(top), int(left + new_w), int(top + new_h)))
                if patch[2] == patch[0] or patch[3] == patch[1]:
                    continue
                overlaps = box_iou(patch.astype(np.float32), boxes)
                if len(overlaps) > 0 and overlaps.min() < mode:
                    continue
                if len(overlaps) > 0:
                    inside = self._centers_inside(boxes, patch)
                    if not inside.any():
                        continue
                    select_instances(results, inside)
                    kept = boxes[inside] - np.array([patch[0], patch[1], patch[0], patch[1]], np.float32)
                    if self.bbox_clip_border:
                        kept[:, 0::2] = kept[:, 0::2].clip(0, patch[2] - patch[0])
                        kept[:, 1::2] = kept[:, 1::2].clip(0, patch[3] - patch[1])
                    results["gt_bboxes"] = kept
                if results.get("gt_masks") is not None:
                    results["gt_masks"] = masks_array(results["gt_masks"], owner)[
                        :, patch[1]:patch[3], patch[0]:patch[2]]
                results["img"] = img[patch[1]:patch[3], patch[0]:patch[2]]
                results["img_shape"] = results["img"].shape[:2]
                if results.get("gt_seg_map") is not None:
                    results["gt_seg_map"] = results["gt_seg_map"][patch[1]:patch[3], patch[0]:patch[2]]
                return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(min_ious={self.min_ious}, min_crop_size={self.min_crop_size}, "
                f"bbox_clip_border={self.bbox_clip_border})")


def project_boxes(boxes: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """The axis-aligned boxes around each box's four corners mapped by the 3x3 ``matrix``."""
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([np.stack([x1, y1], -1), np.stack([x2, y1], -1), np.stack([x1, y2], -1),
                        np.stack([x2, y2], -1)], axis=1)  # (N, 4, 2)
    homogeneous = np.concatenate([corners, np.ones_like(corners[..., :1])], axis=-1) @ matrix.T
    points = homogeneous[..., :2] / homogeneous[..., 2:3]
    return np.concatenate([points.min(axis=1), points.max(axis=1)], axis=-1).astype(np.float32)


@TRANSFORMS.register_module()
class RandomAffine(BaseTransform):
    """YOLOX's random affine warp: scale, rotate (about the origin), shear, then translate,
    each drawn uniformly from its range; the output is the input size grown by ``border``
    on each side (MMDetection passes a negative border after Mosaic).

    Each box becomes the box around its warped corners, clipped to the output with
    ``bbox_clip_border``; boxes left outside the output are dropped with their labels
    and ignore flags. Masks are not supported (as in MMDetection).

    Args:
        max_rotate_degree: rotation drawn from [-max, max] degrees.
        max_translate_ratio: shift drawn from [-max, max] times the output width / height.
        scaling_ratio_range: (min, max) scale factor, min > 0.
        max_shear_degree: x and y shear drawn from [-max, max] degrees.
        border: (height, width) pixels added on each side of the output (negative: removed).
        border_val: fill of the pixels that come from outside the image.
        bbox_clip_border: clip the warped boxes to the output.

    Required Keys: img, gt_bboxes (optional), gt_bboxes_labels (optional), gt_ignore_flags (optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels, gt_ignore_flags
    Added Keys: none
    """

    def __init__(self, max_rotate_degree: float = 10.0, max_translate_ratio: float = 0.1,
                 scaling_ratio_range: Tuple[float, float] = (0.5, 1.5), max_shear_degree: float = 2.0,
                 border: Tuple[int, int] = (0, 0), border_val: Tuple[int, int, int] = (114, 114, 114),
                 bbox_clip_border: bool = True):
        check(isinstance(max_translate_ratio, (int, float)) and 0 <= max_translate_ratio <= 1, self,
              f"max_translate_ratio must be in [0, 1], got {max_translate_ratio!r}")
        low, _ = check_range(self, "scaling_ratio_range", scaling_ratio_range, low=0)
        check(low > 0, self, f"scaling_ratio_range must be above 0, got {scaling_ratio_range!r}")
        check(isinstance(border, (list, tuple)) and len(border) == 2, self,
              f"border must be a (height, width) pair of pixels, got {border!r}")
        self.max_rotate_degree = max_rotate_degree
        self.max_translate_ratio = max_translate_ratio
        self.scaling_ratio_range = scaling_ratio_range
        self.max_shear_degree = max_shear_degree
        self.border = border
        self.border_val = border_val
        self.bbox_clip_border = bbox_clip_border

    @cache_randomness
    def _get_random_homography_matrix(self, height: int, width: int) -> np.ndarray:
        """translate @ shear @ rotate @ scale, drawn in MMDetection's order."""
        rotation = math.radians(np.random.uniform(-self.max_rotate_degree, self.max_rotate_degree))
        scale = np.random.uniform(*self.scaling_ratio_range)
        shear_x = math.radians(np.random.uniform(-self.max_shear_degree, self.max_shear_degree))
        shear_y = math.radians(np.random.uniform(-self.max_shear_degree, self.max_shear_degree))
        shift_x = np.random.uniform(-self.max_translate_ratio, self.max_translate_ratio) * width
        shift_y = np.random.uniform(-self.max_translate_ratio, self.max_translate_ratio) * height
        cos, sin = math.cos(rotation), math.sin(rotation)
        rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]], np.float32)
        scaling = np.diag([scale, scale, 1]).astype(np.float32)
        shear = np.array([[1, math.tan(shear_x), 0], [math.tan(shear_y), 1, 0], [0, 0, 1]], np.float32)
        translate = np.array([[1, 0, shift_x], [0, 1, shift_y], [0, 0, 1]], np.float32)
        return translate @ shear @ rotate @ scaling

    def transform(self, results: Dict) -> Dict:
        owner = type(self).__name__
        if results.get("gt_masks") is not None:
            raise NotImplementedError(f"{owner} moves boxes only; load no masks "
                                      f"(LoadAnnotations(with_mask=False))")
        img = results["img"]
        height = img.shape[0] + self.border[0] * 2
        width = img.shape[1] + self.border[1] * 2
        check(height > 0 and width > 0, self,
              f"border {self.border} leaves no output from a {img.shape[:2]} image", ValueError)
        matrix = self._get_random_homography_matrix(height, width)
        results["img"] = cv2.warpPerspective(img, matrix, dsize=(width, height), borderValue=self.border_val)
        results["img_shape"] = results["img"].shape[:2]
        if results.get("gt_bboxes") is not None and len(results["gt_bboxes"]):
            boxes = project_boxes(as_box_array(results["gt_bboxes"], owner), matrix)
            if self.bbox_clip_border:
                boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
                boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
            inside = (boxes[:, 0] < width) & (boxes[:, 1] < height) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0)
            results["gt_bboxes"] = boxes
            select_instances(results, inside)
        return results
