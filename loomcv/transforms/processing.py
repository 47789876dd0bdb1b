"""Geometric transforms that move the image and every annotation with it: Resize, RandomResize,
RandomChoiceResize, RandomFlip, Pad; and Normalize.

Names, arguments and the keys they write follow MMCV 2.x (and MMDetection 3.x for
masks and ``homography_matrix``): ``img_shape`` is (h, w); ``scale`` is (w, h);
``scale_factor`` is (w_scale, h_scale). Each transform works on whatever of
``img``, ``gt_bboxes``, ``gt_masks``, ``gt_seg_map`` and ``gt_keypoints`` is
present; without ``img`` the size is read from ``img_shape``. The keys are
described in :mod:`loomcv.transforms.annotations`.
"""

import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import (FLIP_DIRECTIONS, PAD_MODES, check_interpolation, imflip, imnormalize, impad,
                          imresize, rescale_size, scale_size)
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob, check_range

from .annotations import (as_boxes, as_keypoints, as_masks, clip_bboxes, flip_bboxes, flip_keypoints,
                          flip_masks, image_hw, pad_masks, record_homography, rescale_bboxes, rescale_keypoints,
                          resize_masks)
from .base import BaseTransform, cache_randomness


def size_pair(owner, name: str, value, allow_none: bool = False) -> Optional[Tuple[int, int]]:
    """An int -> (v, v); a 2-sequence of positive ints -> tuple."""
    if value is None and allow_none:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    check(isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, numbers.Integral) and v > 0 for v in value), owner,
          f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return tuple(int(v) for v in value)


def resize_img(results: Dict, size: Tuple[int, int], interpolation: str, backend: str) -> None:
    """Resize only ``results['img']`` to ``size=(w, h)``; update img_shape and scale_factor
    (for image-only transforms such as classification's ResizeEdge)."""
    img = results["img"]
    h, w = img.shape[:2]
    img = imresize(img, size, interpolation=interpolation, backend=backend)
    results["img"] = img
    results["img_shape"] = img.shape[:2]
    results["scale_factor"] = (img.shape[1] / w, img.shape[0] / h)


def resize_annotations(results: Dict, new_hw: Tuple[int, int], scale_factor: Tuple[float, float],
                       clip: bool, backend: str, owner: str) -> None:
    """Move boxes, masks, the segmentation map and keypoints to an image resized to ``new_hw``."""
    if results.get("gt_bboxes") is not None:
        boxes = rescale_bboxes(as_boxes(results["gt_bboxes"], owner), scale_factor)
        results["gt_bboxes"] = clip_bboxes(boxes, new_hw) if clip else boxes
    if results.get("gt_masks") is not None:
        results["gt_masks"] = resize_masks(as_masks(results["gt_masks"], owner), new_hw, scale_factor)
    if results.get("gt_seg_map") is not None:
        results["gt_seg_map"] = imresize(results["gt_seg_map"], (new_hw[1], new_hw[0]), interpolation="nearest",
                                         backend=backend)
    if results.get("gt_keypoints") is not None:
        results["gt_keypoints"] = rescale_keypoints(as_keypoints(results["gt_keypoints"], owner), scale_factor,
                                                    new_hw if clip else None)
    record_homography(results, np.diag([scale_factor[0], scale_factor[1], 1.0]))


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to ``scale=(w, h)`` (or by ``scale_factor``); ``keep_ratio`` fits inside scale
    (the long edge within max(scale), the short within min(scale)).

    Boxes and keypoints are scaled by the recorded ``scale_factor`` and, with
    ``clip_object_border``, clipped to the new image; masks and the
    segmentation map are resized with nearest-neighbour.

    Required Keys: img (or img_shape), gt_bboxes / gt_masks / gt_seg_map / gt_keypoints (optional)
    Modified Keys: img, img_shape, gt_bboxes, gt_masks, gt_seg_map, gt_keypoints
    Added Keys: scale, scale_factor, keep_ratio, homography_matrix
    """

    def __init__(self, scale: Optional[Union[int, Tuple[int, int]]] = None,
                 scale_factor: Optional[Union[float, Tuple[float, float]]] = None, keep_ratio: bool = False,
                 clip_object_border: bool = True, backend: str = "cv2", interpolation: str = "bilinear"):
        check((scale is None) != (scale_factor is None), self, "give exactly one of `scale` and `scale_factor`")
        check_interpolation(interpolation, backend, "Resize")
        self.scale = size_pair(self, "scale", scale, allow_none=True)
        if scale_factor is not None:
            if isinstance(scale_factor, (int, float)):
                scale_factor = (float(scale_factor), float(scale_factor))
            check(isinstance(scale_factor, (tuple, list)) and len(scale_factor) == 2
                  and all(v > 0 for v in scale_factor), self,
                  f"scale_factor must be a positive number or pair, got {scale_factor!r}")
            scale_factor = tuple(scale_factor)
        self.scale_factor = scale_factor
        self.keep_ratio = keep_ratio
        self.clip_object_border = clip_object_border
        self.backend = backend
        self.interpolation = interpolation

    def transform(self, results: Dict) -> Dict:
        h, w = image_hw(results, "Resize")
        scale = tuple(self.scale) if self.scale is not None else scale_size((w, h), self.scale_factor)
        new_w, new_h = rescale_size((w, h), scale) if self.keep_ratio else scale
        factor = (new_w / w, new_h / h)
        if results.get("img") is not None:
            results["img"] = imresize(results["img"], (new_w, new_h), interpolation=self.interpolation,
                                      backend=self.backend)
        results["scale"] = scale
        results["img_shape"] = (new_h, new_w)
        results["scale_factor"] = factor
        results["keep_ratio"] = self.keep_ratio
        resize_annotations(results, (new_h, new_w), factor, self.clip_object_border, self.backend, "Resize")
        return results


def _build_resize(owner, resize_type: str, resize_kwargs: dict):
    check("scale" not in resize_kwargs and "scale_factor" not in resize_kwargs, owner,
          "the scale is drawn by the transform itself; do not pass `scale`/`scale_factor` for the resize")
    return TRANSFORMS.build(dict(type=resize_type, scale=(1, 1), **resize_kwargs))


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize to a random scale: ``scale * U(ratio_range)``, or, without ``ratio_range``, width
    and height drawn independently between two scales ``[(w1, h1), (w2, h2)]``.

    The resize itself is a ``resize_type`` transform (Resize) built with ``resize_kwargs``.

    Required Keys: as the resize (img or img_shape; annotations optional)
    Modified Keys: as the resize (img, img_shape, gt_bboxes, gt_masks, gt_seg_map, gt_keypoints)
    Added Keys: scale, scale_factor, keep_ratio, homography_matrix
    """

    def __init__(self, scale: Union[Tuple[int, int], Sequence[Tuple[int, int]]],
                 ratio_range: Optional[Tuple[float, float]] = None, resize_type: str = "Resize",
                 **resize_kwargs):
        if ratio_range is not None:
            self.scale = size_pair(self, "scale", scale)
            self.ratio_range = check_range(self, "ratio_range", ratio_range, low=1e-8)
        else:
            check(isinstance(scale, (list, tuple)) and len(scale) == 2
                  and all(isinstance(s, (list, tuple)) and len(s) == 2 for s in scale), self,
                  "without ratio_range, scale must be two (w, h) scales to sample between")
            self.scale = [tuple(s) for s in scale]
            self.ratio_range = None
        self.resize_type = resize_type
        self.resize_kwargs = resize_kwargs
        self.resize = _build_resize(self, resize_type, resize_kwargs)

    @cache_randomness
    def _random_scale(self) -> Tuple[int, int]:
        if self.ratio_range is not None:
            low, high = self.ratio_range
            ratio = np.random.random_sample() * (high - low) + low
            return int(self.scale[0] * ratio), int(self.scale[1] * ratio)
        (w1, h1), (w2, h2) = self.scale
        return (int(np.random.randint(min(w1, w2), max(w1, w2) + 1)),
                int(np.random.randint(min(h1, h2), max(h1, h2) + 1)))

    def transform(self, results: Dict) -> Dict:
        self.resize.scale = self._random_scale()
        return self.resize(results)


@TRANSFORMS.register_module()
class RandomChoiceResize(BaseTransform):
    """Resize to one of ``scales`` picked uniformly (a single scale is always used).

    Required Keys: as the resize (img or img_shape; annotations optional)
    Modified Keys: as the resize (img, img_shape, gt_bboxes, gt_masks, gt_seg_map, gt_keypoints)
    Added Keys: scale, scale_factor, keep_ratio, homography_matrix, scale_idx
    """

    def __init__(self, scales: Union[int, Tuple[int, int], Sequence[Union[int, Tuple[int, int]]]],
                 resize_type: str = "Resize", **resize_kwargs):
        scales = list(scales) if isinstance(scales, list) else [scales]
        check(len(scales) > 0, self, "scales must name at least one scale")
        self.scales = [size_pair(self, f"scales[{i}]", s) for i, s in enumerate(scales)]
        self.resize_type = resize_type
        self.resize_kwargs = resize_kwargs
        self.resize = _build_resize(self, resize_type, resize_kwargs)

    @cache_randomness
    def _random_select(self) -> Tuple[Tuple[int, int], int]:
        index = int(np.random.randint(len(self.scales)))
        return self.scales[index], index

    def transform(self, results: Dict) -> Dict:
        scale, index = self._random_select()
        self.resize.scale = scale
        results = self.resize(results)
        results["scale_idx"] = index
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip with probability ``prob`` in ``direction`` ('horizontal', 'vertical', 'diagonal').

    A float ``prob`` with a list of directions splits it evenly among them; a list
    gives one probability per direction. Boxes, masks, the segmentation map and
    keypoints are mirrored with the image. ``swap_seg_labels=[(left, right), ...]``
    swaps those segmentation labels after a flip; ``results['flip_indices']`` (the
    MMPose convention) swaps left/right keypoints.

    Required Keys: img (or img_shape), gt_bboxes / gt_masks / gt_seg_map / gt_keypoints / flip_indices (optional)
    Modified Keys: img, gt_bboxes, gt_masks, gt_seg_map, gt_keypoints (when flipped)
    Added Keys: flip, flip_direction, homography_matrix, swap_seg_labels (with a seg map)
    """

    def __init__(self, prob: Optional[Union[float, Sequence[float]]] = None,
                 direction: Union[str, Sequence[str]] = "horizontal", swap_seg_labels: Optional[Sequence] = None):
        if isinstance(prob, (list, tuple)):
            for p in prob:
                check_prob(self, "each prob", p)
            check(sum(prob) <= 1, self, f"the probabilities must sum to at most 1, got {prob}")
        else:
            check_prob(self, "prob", prob)
        if isinstance(direction, str):
            directions = [direction]
        else:
            check(isinstance(direction, (list, tuple)) and len(direction) > 0
                  and all(isinstance(d, str) for d in direction), self,
                  f"direction must be one of {list(FLIP_DIRECTIONS)} or a list of them, got {direction!r}")
            directions = list(direction)
        for d in directions:
            check_choice(self, "direction", d, FLIP_DIRECTIONS)
        if isinstance(prob, (list, tuple)):
            check(len(prob) == len(directions), self,
                  f"{len(prob)} probabilities for {len(directions)} directions")
        if swap_seg_labels is not None:
            check(isinstance(swap_seg_labels, (list, tuple)) and all(
                isinstance(p, (list, tuple)) and len(p) == 2 for p in swap_seg_labels), self,
                f"swap_seg_labels must be a list of (label, label) pairs, got {swap_seg_labels!r}")
        self.prob = prob
        self.direction = direction
        self.swap_seg_labels = swap_seg_labels
        self._choices = directions + [None]
        if isinstance(prob, (list, tuple)):
            self._p = [float(p) for p in prob] + [1 - sum(prob)]
        else:
            self._p = [prob / len(directions)] * len(directions) + [1 - prob]

    @cache_randomness
    def _choose_direction(self) -> Optional[str]:
        return self._choices[np.random.choice(len(self._choices), p=self._p)]

    def _flip_seg_map(self, seg_map: np.ndarray, direction: str) -> np.ndarray:
        flipped = imflip(seg_map, direction)
        if self.swap_seg_labels:
            original = flipped.copy()
            for a, b in self.swap_seg_labels:
                flipped[original == a] = b
                flipped[original == b] = a
        return flipped

    def transform(self, results: Dict) -> Dict:
        direction = self._choose_direction()
        results["flip"] = direction is not None
        results["flip_direction"] = direction
        if direction is None:
            return results
        hw = image_hw(results, "RandomFlip")
        if results.get("img") is not None:
            results["img"] = imflip(results["img"], direction)
        if results.get("gt_bboxes") is not None:
            results["gt_bboxes"] = flip_bboxes(as_boxes(results["gt_bboxes"], "RandomFlip"), hw, direction)
        if results.get("gt_masks") is not None:
            results["gt_masks"] = flip_masks(as_masks(results["gt_masks"], "RandomFlip"), hw, direction)
        if results.get("gt_keypoints") is not None:
            results["gt_keypoints"] = flip_keypoints(as_keypoints(results["gt_keypoints"], "RandomFlip"), hw,
                                                     direction, results.get("flip_indices"))
        if results.get("gt_seg_map") is not None:
            results["gt_seg_map"] = self._flip_seg_map(results["gt_seg_map"], direction)
            results["swap_seg_labels"] = self.swap_seg_labels
        h, w = hw
        sx, tx = (-1, w) if direction in ("horizontal", "diagonal") else (1, 0)
        sy, ty = (-1, h) if direction in ("vertical", "diagonal") else (1, 0)
        record_homography(results, np.array([[sx, 0, tx], [0, sy, ty], [0, 0, 1]]))
        return results


@TRANSFORMS.register_module()
class Normalize(BaseTransform):
    """``(img - mean) / std`` as float32, optionally BGR -> RGB first.

    Required Keys: img
    Modified Keys: img (float32 from then on)
    Added Keys: img_norm_cfg
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True):
        for name, value in (("mean", mean), ("std", std)):
            check(isinstance(value, (list, tuple, np.ndarray)) and len(value) in (1, 3), self,
                  f"{name} must have 1 or 3 values, got {value!r}")
        check(all(s != 0 for s in std), self, f"std must not contain 0, got {std}")
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.to_rgb = to_rgb

    def transform(self, results: Dict) -> Dict:
        results["img"] = imnormalize(results["img"], self.mean, self.std, self.to_rgb)
        results["img_norm_cfg"] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()}, to_rgb={self.to_rgb})"


_PAD_KEYS = ("img", "seg", "masks")


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad bottom/right to ``size=(w, h)``, to a multiple of ``size_divisor``, and/or to a square.

    ``pad_val`` is a number (the image's; maps get 255) or a dict with ``img``,
    ``seg`` (the segmentation map, default 255: MMCV's ignore index) and
    ``masks`` (default 0). Boxes and keypoints keep their coordinates.

    Required Keys: img (or img_shape), gt_seg_map / gt_masks (optional)
    Modified Keys: img, img_shape, gt_seg_map, gt_masks
    Added Keys: pad_shape, pad_fixed_size, pad_size_divisor
    """

    def __init__(self, size: Optional[Tuple[int, int]] = None, size_divisor: Optional[int] = None,
                 pad_to_square: bool = False, pad_val: Union[numbers.Number, dict] = dict(img=0, seg=255),
                 padding_mode: str = "constant"):
        if pad_to_square:
            check(size is None, self, "`size` cannot be combined with pad_to_square=True")
        else:
            check((size is None) != (size_divisor is None), self,
                  "give exactly one of `size` and `size_divisor` (or pad_to_square=True)")
        if size is not None:
            size = size_pair(self, "size", size)
        check(size_divisor is None or (isinstance(size_divisor, int) and size_divisor > 0), self,
              f"size_divisor must be a positive int, got {size_divisor!r}")
        check_choice(self, "padding_mode", padding_mode, PAD_MODES)
        if isinstance(pad_val, numbers.Number):
            pad_val = dict(img=pad_val, seg=255)
        check(isinstance(pad_val, dict), self, f"pad_val must be a number or a dict, got {pad_val!r}")
        for key in pad_val:
            check_choice(self, "pad_val key", key, _PAD_KEYS)
        self.size = size
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    def _target_hw(self, h: int, w: int) -> Tuple[int, int]:
        size = self.size
        if self.pad_to_square:
            side = max(h, w)
            size = (side, side)
        if self.size_divisor is not None:
            base_w, base_h = size if size is not None else (w, h)
            d = self.size_divisor
            size = (int(math.ceil(base_w / d)) * d, int(math.ceil(base_h / d)) * d)
        return max(size[1], h), max(size[0], w)

    def transform(self, results: Dict) -> Dict:
        h, w = image_hw(results, "Pad")
        target = self._target_hw(h, w)
        img = results.get("img")
        if img is not None:
            img = impad(img, shape=target, pad_val=self.pad_val.get("img", 0), padding_mode=self.padding_mode)
            results["img"] = img
        results["pad_shape"] = img.shape if img is not None else target
        results["pad_fixed_size"] = self.size
        results["pad_size_divisor"] = self.size_divisor
        results["img_shape"] = target
        if results.get("gt_seg_map") is not None:
            results["gt_seg_map"] = impad(results["gt_seg_map"], shape=target, pad_val=self.pad_val.get("seg", 255),
                                          padding_mode=self.padding_mode)
        if results.get("gt_masks") is not None:
            results["gt_masks"] = pad_masks(as_masks(results["gt_masks"], "Pad"), target,
                                            self.pad_val.get("masks", 0))
        return results
