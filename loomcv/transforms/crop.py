"""Crops that keep the annotations aligned: CenterCrop (MMCV 2.x) and the box-aware
RandomCrop (MMDetection 3.x).

A crop shifts boxes, masks, keypoints and the segmentation map into the window,
clips boxes to it (unless told not to), and drops the instances whose box has
no area left inside it, together with their labels, ignore flags, masks and
keypoints. Classification's padding RandomCrop (MMPretrain's) lives in the classification toolbox.
"""

import numbers
from typing import Dict, Optional, Tuple, Union

import numpy as np

from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice

from .annotations import (as_boxes, as_keypoints, as_masks, bboxes_inside, clip_bboxes, crop_keypoints,
                          crop_masks, image_hw, masks_to_bboxes, record_homography, select_instances)
from .base import BaseTransform, cache_randomness
from .processing import size_pair


def crop_results(results: Dict, x1: int, y1: int, x2: int, y2: int, clip: bool, owner: str) -> bool:
    """Cut every present key to the window [x1, x2) x [y1, y2) of the image.

    Returns whether any box kept an area inside (True when there are no boxes).
    """
    hw = (y2 - y1, x2 - x1)
    if results.get("img") is not None:
        results["img"] = results["img"][y1:y2, x1:x2, ...]
    results["img_shape"] = hw
    if results.get("gt_seg_map") is not None:
        results["gt_seg_map"] = results["gt_seg_map"][y1:y2, x1:x2]
    record_homography(results, np.array([[1, 0, -x1], [0, 1, -y1], [0, 0, 1]]))
    any_left = True
    if results.get("gt_bboxes") is not None:
        boxes = as_boxes(results["gt_bboxes"], owner) - np.array([x1, y1, x1, y1], dtype=np.float32)
        keep = bboxes_inside(boxes, hw)
        any_left = bool(keep.any())
        results["gt_bboxes"] = clip_bboxes(boxes, hw) if clip else boxes
        select_instances(results, keep)
    if results.get("gt_masks") is not None:
        results["gt_masks"] = crop_masks(as_masks(results["gt_masks"], owner), x1, y1, x2, y2)
    if results.get("gt_keypoints") is not None:
        results["gt_keypoints"] = crop_keypoints(as_keypoints(results["gt_keypoints"], owner), x1, y1, hw)
    return any_left


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``crop_size=(w, h)`` (an int for a square); ``auto_pad`` pads small
    images first (with ``pad_cfg``), otherwise a side larger than the image keeps the image's.

    Required Keys: img (or img_shape), gt_bboxes / gt_masks / gt_seg_map / gt_keypoints (optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels, gt_ignore_flags, gt_masks, gt_seg_map,
        gt_keypoints (instances left without area are dropped)
    Added Keys: pad_shape, homography_matrix; pad_fixed_size, pad_size_divisor (when auto_pad pads)
    """

    def __init__(self, crop_size: Union[int, Tuple[int, int]], auto_pad: bool = False,
                 pad_cfg: dict = dict(type="Pad"), clip_object_border: bool = True):
        self.crop_size = size_pair(self, "crop_size", crop_size)
        check(isinstance(pad_cfg, dict), self, f"pad_cfg must be a dict, got {pad_cfg!r}")
        self.auto_pad = auto_pad
        self.pad_cfg = dict(pad_cfg)
        self.clip_object_border = clip_object_border
        self._pad = None
        if auto_pad:
            cfg = dict(self.pad_cfg)
            cfg.pop("size", None)
            self._pad = TRANSFORMS.build(dict(cfg, size=self.crop_size))

    def transform(self, results: Dict) -> Dict:
        crop_w, crop_h = self.crop_size
        h, w = image_hw(results, "CenterCrop")
        if self._pad is not None and (h < crop_h or w < crop_w):
            self._pad.size = (max(w, crop_w), max(h, crop_h))
            results = self._pad(results)
            h, w = image_hw(results, "CenterCrop")
        crop_h, crop_w = min(crop_h, h), min(crop_w, w)
        y1 = max(0, int(round((h - crop_h) / 2.)))
        x1 = max(0, int(round((w - crop_w) / 2.)))
        crop_results(results, x1, y1, min(w, x1 + crop_w), min(h, y1 + crop_h), self.clip_object_border,
                     "CenterCrop")
        results["pad_shape"] = results["img_shape"]
        return results


CROP_TYPES = ("absolute", "absolute_range", "relative", "relative_range")


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random window of ``crop_size=(w, h)`` (MMDetection's box-aware crop).

    ``crop_type``: 'absolute' crops (w, h) pixels (less where the image is
    smaller); 'absolute_range' draws each side in [crop_size[0], crop_size[1]];
    'relative' crops (w * crop_size[0], h * crop_size[1]); 'relative_range' draws
    the fractions in [crop_size[i], 1]. A crop that leaves no box with area
    returns None (the dataset then fetches another sample) unless
    ``allow_negative_crop``; ``recompute_bbox`` takes the boxes from the cropped
    masks; ``bbox_clip_border=False`` leaves boxes reaching out of the crop as they are.

    Required Keys: img (or img_shape), gt_bboxes, gt_bboxes_labels, gt_ignore_flags, gt_masks, gt_seg_map,
        gt_keypoints (all optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_bboxes_labels, gt_ignore_flags, gt_masks, gt_seg_map,
        gt_keypoints, gt_instances_ids
    Added Keys: homography_matrix
    """

    def __init__(self, crop_size: Union[int, Tuple[numbers.Number, numbers.Number]],
                 crop_type: str = "absolute", allow_negative_crop: bool = False, recompute_bbox: bool = False,
                 bbox_clip_border: bool = True):
        check_choice(self, "crop_type", crop_type, CROP_TYPES)
        if isinstance(crop_size, numbers.Number) and not isinstance(crop_size, bool):
            crop_size = (crop_size, crop_size)
        check(isinstance(crop_size, (tuple, list)) and len(crop_size) == 2, self,
              f"crop_size must be a (w, h) pair, got {crop_size!r}")
        if crop_type.startswith("absolute"):
            crop_size = size_pair(self, "crop_size", crop_size)
            if crop_type == "absolute_range":
                check(crop_size[0] <= crop_size[1], self,
                      f"with crop_type='absolute_range', crop_size is (min, max) and needs min <= max, "
                      f"got {crop_size}")
        else:
            check(all(isinstance(v, numbers.Number) and 0 < v <= 1 for v in crop_size), self,
                  f"with crop_type={crop_type!r}, crop_size holds fractions in (0, 1], got {crop_size!r}")
            crop_size = tuple(float(v) for v in crop_size)
        self.crop_size = crop_size
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop
        self.recompute_bbox = recompute_bbox
        self.bbox_clip_border = bbox_clip_border

    @cache_randomness
    def _get_crop_size(self, image_size: Tuple[int, int]) -> Tuple[int, int]:
        """(crop_h, crop_w) in pixels for an image of (h, w)."""
        h, w = image_size
        if self.crop_type == "absolute":
            return min(self.crop_size[1], h), min(self.crop_size[0], w)
        if self.crop_type == "absolute_range":
            low, high = self.crop_size
            return (int(np.random.randint(min(h, low), min(h, high) + 1)),
                    int(np.random.randint(min(w, low), min(w, high) + 1)))
        if self.crop_type == "relative":
            frac_w, frac_h = self.crop_size
            return int(h * frac_h + 0.5), int(w * frac_w + 0.5)
        low = np.asarray(self.crop_size, dtype=np.float32)
        frac_h, frac_w = low + np.random.rand(2) * (1 - low)
        return int(h * frac_h + 0.5), int(w * frac_w + 0.5)

    @cache_randomness
    def _rand_offset(self, margin: Tuple[int, int]) -> Tuple[int, int]:
        """(offset_h, offset_w) of the window's top-left corner."""
        return int(np.random.randint(0, margin[0] + 1)), int(np.random.randint(0, margin[1] + 1))

    def transform(self, results: Dict) -> Optional[Dict]:
        h, w = image_hw(results, "RandomCrop")
        crop_h, crop_w = self._get_crop_size((h, w))
        off_h, off_w = self._rand_offset((max(h - crop_h, 0), max(w - crop_w, 0)))
        y2, x2 = min(off_h + crop_h, h), min(off_w + crop_w, w)
        any_left = crop_results(results, off_w, off_h, x2, y2, self.bbox_clip_border, "RandomCrop")
        if not any_left and not self.allow_negative_crop:
            return None
        if self.recompute_bbox and results.get("gt_masks") is not None and results.get("gt_bboxes") is not None:
            results["gt_bboxes"] = masks_to_bboxes(results["gt_masks"], results["img_shape"])
        return results
