"""Geometric transforms: resize, crop, flip, pad, and Normalize.

Names, arguments and the keys they write follow MMCV 2.x / MMPretrain 1.x:
``img_shape`` is (h, w); ``scale`` is (w, h); ``scale_factor`` is (w_scale, h_scale).
"""

import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import (FLIP_DIRECTIONS, PAD_MODES, check_interpolation, imcrop, imflip,
                          imnormalize, impad, imrescale, imresize)
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob, check_range

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
    """Resize ``results['img']`` to ``size=(w, h)``; update img_shape and scale_factor."""
    img = results["img"]
    h, w = img.shape[:2]
    img = imresize(img, size, interpolation=interpolation, backend=backend)
    results["img"] = img
    results["img_shape"] = img.shape[:2]
    results["scale_factor"] = (img.shape[1] / w, img.shape[0] / h)


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize to ``scale=(w, h)`` (or by ``scale_factor``); ``keep_ratio`` fits inside scale.

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: scale, scale_factor, keep_ratio
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
        img = results["img"]
        h, w = img.shape[:2]
        if self.scale is not None:
            scale = self.scale
        else:
            scale = (int(w * self.scale_factor[0] + 0.5), int(h * self.scale_factor[1] + 0.5))
        results["scale"] = scale
        if self.keep_ratio:
            img = imrescale(img, scale, interpolation=self.interpolation, backend=self.backend)
            results["img"] = img
            results["img_shape"] = img.shape[:2]
            results["scale_factor"] = (img.shape[1] / w, img.shape[0] / h)
        else:
            resize_img(results, scale, self.interpolation, self.backend)
        results["keep_ratio"] = self.keep_ratio
        return results


@TRANSFORMS.register_module()
class RandomResize(BaseTransform):
    """Resize to a random scale: ``scale * U(ratio_range)``, or between two scales ``[(w1, h1), (w2, h2)]``.

    The resize itself is a ``resize_type`` transform (Resize) built with ``resize_kwargs``.

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: scale, scale_factor, keep_ratio (those of the default Resize)
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
        self.resize = TRANSFORMS.build(dict(type=resize_type, scale=(1, 1), **resize_kwargs))

    @cache_randomness
    def _random_scale(self) -> Tuple[int, int]:
        if self.ratio_range is not None:
            ratio = np.random.uniform(*self.ratio_range)
            return int(self.scale[0] * ratio), int(self.scale[1] * ratio)
        (w1, h1), (w2, h2) = self.scale
        return (int(np.random.randint(min(w1, w2), max(w1, w2) + 1)),
                int(np.random.randint(min(h1, h2), max(h1, h2) + 1)))

    def transform(self, results: Dict) -> Dict:
        self.resize.scale = self._random_scale()
        return self.resize(results)


def _crop(results: Dict, x1: int, y1: int, x2: int, y2: int) -> None:
    """Crop img to the inclusive box; update img_shape."""
    img = imcrop(results["img"], np.array([x1, y1, x2, y2]))
    results["img"] = img
    results["img_shape"] = img.shape[:2]


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``crop_size=(w, h)`` (an int for a square); ``auto_pad`` pads small images first.

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: pad_shape, pad_fixed_size, pad_size_divisor (only when auto_pad pads)
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
        h, w = results["img"].shape[:2]
        if self._pad is not None and (h < crop_h or w < crop_w):
            self._pad.size = (max(w, crop_w), max(h, crop_h))
            results = self._pad(results)
            h, w = results["img"].shape[:2]
        y1 = max(0, int(round((h - crop_h) / 2.)))
        x1 = max(0, int(round((w - crop_w) / 2.)))
        _crop(results, x1, y1, min(w, x1 + crop_w) - 1, min(h, y1 + crop_h) - 1)
        return results


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip with probability ``prob`` in ``direction`` ('horizontal', 'vertical', 'diagonal').

    Lists give one probability per direction.

    Required Keys: img
    Modified Keys: img (when flipped)
    Added Keys: flip, flip_direction
    """

    def __init__(self, prob: Optional[Union[float, Sequence[float]]] = None,
                 direction: Union[str, Sequence[str]] = "horizontal", swap_seg_labels: Optional[Sequence] = None):
        if isinstance(prob, (list, tuple)):
            for p in prob:
                check_prob(self, "each prob", p)
            check(sum(prob) <= 1, self, f"the probabilities must sum to at most 1, got {prob}")
        else:
            check_prob(self, "prob", prob)
        directions = [direction] if isinstance(direction, str) else list(direction)
        for d in directions:
            check_choice(self, "direction", d, FLIP_DIRECTIONS)
        if isinstance(prob, (list, tuple)):
            check(len(prob) == len(directions), self,
                  f"{len(prob)} probabilities for {len(directions)} directions")
        self.prob = prob
        self.direction = direction
        self.swap_seg_labels = swap_seg_labels
        if isinstance(prob, (list, tuple)):
            self._choices = directions + [None]
            self._p = list(prob) + [1 - sum(prob)]
        else:
            self._choices = None
            self._directions = directions

    @cache_randomness
    def _choose_direction(self) -> Optional[str]:
        if self._choices is not None:
            return self._choices[np.random.choice(len(self._choices), p=self._p)]
        if np.random.rand() >= self.prob:
            return None
        dirs = self._directions
        return dirs[0] if len(dirs) == 1 else dirs[np.random.randint(len(dirs))]

    def transform(self, results: Dict) -> Dict:
        direction = self._choose_direction()
        if direction is None:
            results["flip"] = False
            results["flip_direction"] = None
        else:
            results["flip"] = True
            results["flip_direction"] = direction
            results["img"] = imflip(results["img"], direction)
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


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad bottom/right to ``size=(w, h)``, to a multiple of ``size_divisor``, and/or to a square.

    Required Keys: img
    Modified Keys: img, img_shape
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
        self.size = size
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        h, w = img.shape[:2]
        size = self.size
        if self.pad_to_square:
            side = max(h, w)
            size = (side, side)
        if self.size_divisor is not None:
            base_w, base_h = size if size is not None else (w, h)
            d = self.size_divisor
            size = (int(math.ceil(base_w / d)) * d, int(math.ceil(base_h / d)) * d)
        img = impad(img, shape=(size[1], size[0]), pad_val=self.pad_val.get("img", 0),
                    padding_mode=self.padding_mode)
        results["img"] = img
        results["pad_shape"] = img.shape
        results["pad_fixed_size"] = self.size
        results["pad_size_divisor"] = self.size_divisor
        results["img_shape"] = img.shape[:2]
        return results
