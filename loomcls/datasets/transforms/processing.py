"""Classification augmentations (MMPretrain 1.x): crops, resizes and colour changes for one label per image.

They move only the image; the task-agnostic, annotation-aware transforms are loomcv's.
"""

import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from loomcls.registry import TRANSFORMS
from loomcv.image import (PAD_MODES, adjust_brightness, adjust_color, adjust_contrast, adjust_hue, adjust_lighting,
                          check_interpolation, impad, imresize)
from loomcv.transforms.base import BaseTransform, cache_randomness
from loomcv.transforms.processing import resize_img, size_pair
from loomcv.validation import check, check_choice, check_positive, check_prob, check_range


EDGES = ("short", "long", "width", "height")


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize so one edge ('short', 'long', 'width' or 'height') equals ``scale``, keeping the ratio.

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: scale, scale_factor
    """

    def __init__(self, scale: int, edge: str = "short", backend: str = "cv2", interpolation: str = "bilinear"):
        check_positive(self, "scale", scale, integer=True)
        check_choice(self, "edge", edge, EDGES)
        check_interpolation(interpolation, backend, "ResizeEdge")
        self.scale = int(scale)
        self.edge = edge
        self.backend = backend
        self.interpolation = interpolation

    def transform(self, results: Dict) -> Dict:
        h, w = results["img"].shape[:2]
        if (self.edge == "short" and w < h) or (self.edge == "long" and w > h) or self.edge == "width":
            width, height = self.scale, int(self.scale * h / w)
        else:
            width, height = int(self.scale * w / h), self.scale
        results["scale"] = (width, height)
        resize_img(results, (width, height), self.interpolation, self.backend)
        return results


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area and aspect ratio, then resize to ``scale`` (Inception-style).

    ``scale`` is an int or (h, w); the crop covers ``crop_ratio_range`` of the
    area with an aspect ratio (w/h) drawn log-uniformly from ``aspect_ratio_range``;
    after ``max_attempts`` failed draws it falls back to a centre crop.

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: -
    """

    def __init__(self, scale: Union[int, Sequence[int]], crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.), max_attempts: int = 10,
                 interpolation: str = "bilinear", backend: str = "cv2"):
        self.scale = size_pair(self, "scale", scale)
        self.crop_ratio_range = check_range(self, "crop_ratio_range", crop_ratio_range, low=0)
        check(self.crop_ratio_range[0] > 0, self, f"crop_ratio_range must be above 0, got {crop_ratio_range}")
        self.aspect_ratio_range = check_range(self, "aspect_ratio_range", aspect_ratio_range, low=0)
        check(self.aspect_ratio_range[0] > 0, self,
              f"aspect_ratio_range must be above 0, got {aspect_ratio_range}")
        check(isinstance(max_attempts, int) and max_attempts >= 0, self,
              f"max_attempts must be an int >= 0, got {max_attempts!r}")
        check_interpolation(interpolation, backend, "RandomResizedCrop")
        self.max_attempts = max_attempts
        self.interpolation = interpolation
        self.backend = backend
        self._log_ratio = (math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1]))

    @cache_randomness
    def rand_crop_params(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        """(offset_h, offset_w, target_h, target_w) of the crop."""
        h, w = img.shape[:2]
        area = h * w
        rand = np.random.random  # a few times cheaper per call than uniform()/randint()
        (r0, r1), (l0, l1) = self.crop_ratio_range, self._log_ratio
        for _ in range(self.max_attempts):
            target_area = (r0 + (r1 - r0) * rand()) * area
            aspect_ratio = math.exp(l0 + (l1 - l0) * rand())
            target_w = int(round(math.sqrt(target_area * aspect_ratio)))
            target_h = int(round(math.sqrt(target_area / aspect_ratio)))
            if 0 < target_w <= w and 0 < target_h <= h:
                offset_h = int(rand() * (h - target_h + 1))
                offset_w = int(rand() * (w - target_w + 1))
                return offset_h, offset_w, target_h, target_w
        # fall back to a centre crop with the aspect ratio clamped into range
        in_ratio = w / h
        if in_ratio < self.aspect_ratio_range[0]:
            target_w, target_h = w, int(round(w / self.aspect_ratio_range[0]))
        elif in_ratio > self.aspect_ratio_range[1]:
            target_h, target_w = h, int(round(h * self.aspect_ratio_range[1]))
        else:
            target_w, target_h = w, h
        return (h - target_h) // 2, (w - target_w) // 2, target_h, target_w

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        img = img[offset_h:offset_h + target_h, offset_w:offset_w + target_w]
        img = imresize(img, (self.scale[1], self.scale[0]), interpolation=self.interpolation,
                       backend=self.backend)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        return results


def _efficientnet_center_window(h: int, w: int, size: int, crop_padding: int) -> Tuple[int, int, int, int]:
    """(offset_h, offset_w, side, side) of the centred square covering ``size / (size + crop_padding)``
    of the short side (the TF EfficientNet eval crop); the side is floored to whole pixels."""
    side = size / (size + crop_padding) * min(h, w)
    offset_h = max(0, int(round((h - side) / 2.)))
    offset_w = max(0, int(round((w - side) / 2.)))
    return offset_h, offset_w, int(side), int(side)


@TRANSFORMS.register_module()
class EfficientNetRandomCrop(RandomResizedCrop):
    """RandomResizedCrop as EfficientNet's TF input pipeline draws it.

    The aspect ratio is uniform (not log-uniform) in ``aspect_ratio_range``;
    the crop height is drawn uniformly between the heights that give
    ``crop_ratio_range`` of the area at that ratio, and a draw is kept only if
    its area stays in that range, it fits, and it covers ``min_covered`` of the
    image. After ``max_attempts`` failures it takes the EfficientNet centre crop
    (``scale / (scale + crop_padding)`` of the short side). Then it resizes to
    ``scale`` x ``scale`` (bicubic by default).

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: -
    """

    def __init__(self, scale: int, min_covered: float = 0.1, crop_padding: int = 32,
                 interpolation: str = "bicubic", **kwargs):
        check(isinstance(scale, numbers.Integral) and not isinstance(scale, bool) and scale > 0, self,
              f"scale must be a positive int (a square crop), got {scale!r}")
        super().__init__(scale, interpolation=interpolation, **kwargs)
        check(isinstance(min_covered, numbers.Number) and min_covered >= 0, self,
              f"min_covered must be a number >= 0, got {min_covered!r}")
        check(isinstance(crop_padding, numbers.Integral) and crop_padding >= 0, self,
              f"crop_padding must be an int >= 0, got {crop_padding!r}")
        self.min_covered = min_covered
        self.crop_padding = crop_padding

    @cache_randomness
    def rand_crop_params(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        """(offset_h, offset_w, target_h, target_w) of the crop."""
        h, w = img.shape[:2]
        area = h * w
        min_area, max_area = self.crop_ratio_range[0] * area, self.crop_ratio_range[1] * area
        for _ in range(self.max_attempts):
            aspect_ratio = np.random.uniform(*self.aspect_ratio_range)
            min_h = int(round(math.sqrt(min_area / aspect_ratio)))
            max_h = int(round(math.sqrt(max_area / aspect_ratio)))
            if max_h * aspect_ratio > w:  # keep the width inside the image
                max_h = int((w + 0.5 - 1e-7) / aspect_ratio)
                if max_h * aspect_ratio > w:
                    max_h -= 1
            max_h = min(max_h, h)
            min_h = min(max_h, min_h)
            target_h = int(round(np.random.uniform(min_h, max_h)))
            target_w = int(round(target_h * aspect_ratio))
            target_area = target_h * target_w
            if (target_area < min_area or target_area > max_area or target_w > w or target_h > h
                    or target_area < self.min_covered * area):
                continue
            offset_h = np.random.randint(0, h - target_h + 1)
            offset_w = np.random.randint(0, w - target_w + 1)
            return int(offset_h), int(offset_w), target_h, target_w
        return _efficientnet_center_window(h, w, self.scale[0], self.crop_padding)


@TRANSFORMS.register_module()
class EfficientNetCenterCrop(BaseTransform):
    """EfficientNet's evaluation crop: the centred square covering
    ``crop_size / (crop_size + crop_padding)`` of the short side, resized to
    ``crop_size`` x ``crop_size`` (bicubic by default).

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: -
    """

    def __init__(self, crop_size: int, crop_padding: int = 32, interpolation: str = "bicubic",
                 backend: str = "cv2"):
        check(isinstance(crop_size, numbers.Integral) and not isinstance(crop_size, bool) and crop_size > 0, self,
              f"crop_size must be a positive int, got {crop_size!r}")
        check(isinstance(crop_padding, numbers.Integral) and crop_padding >= 0, self,
              f"crop_padding must be an int >= 0, got {crop_padding!r}")
        check_interpolation(interpolation, backend, "EfficientNetCenterCrop")
        self.crop_size = int(crop_size)
        self.crop_padding = crop_padding
        self.interpolation = interpolation
        self.backend = backend

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        top, left, side_h, side_w = _efficientnet_center_window(*img.shape[:2], self.crop_size, self.crop_padding)
        img = imresize(img[top:top + side_h, left:left + side_w], (self.crop_size, self.crop_size),
                       interpolation=self.interpolation, backend=self.backend)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        return results


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random ``crop_size=(h, w)`` window, after optional ``padding`` (left, top, right, bottom).

    Required Keys: img
    Modified Keys: img, img_shape
    Added Keys: -
    """

    def __init__(self, crop_size: Union[int, Sequence[int]], padding: Optional[Union[int, Sequence[int]]] = None,
                 pad_if_needed: bool = False, pad_val: Union[numbers.Number, Sequence[numbers.Number]] = 0,
                 padding_mode: str = "constant"):
        self.crop_size = size_pair(self, "crop_size", crop_size)
        if padding is not None:
            ok = (isinstance(padding, numbers.Integral) and padding >= 0) or (
                isinstance(padding, (tuple, list)) and len(padding) in (2, 4)
                and all(isinstance(p, numbers.Integral) and p >= 0 for p in padding))
            check(ok, self, f"padding must be an int >= 0 or 2/4 ints (left, top, right, bottom), got {padding!r}")
        check_choice(self, "padding_mode", padding_mode, PAD_MODES)
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.pad_val = pad_val
        self.padding_mode = padding_mode

    @cache_randomness
    def rand_crop_params(self, img: np.ndarray) -> Tuple[int, int, int, int]:
        h, w = img.shape[:2]
        target_h, target_w = self.crop_size
        if w == target_w and h == target_h:
            return 0, 0, h, w
        target_h, target_w = min(h, target_h), min(w, target_w)
        offset_h = np.random.randint(0, h - target_h + 1)
        offset_w = np.random.randint(0, w - target_w + 1)
        return int(offset_h), int(offset_w), target_h, target_w

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        if self.padding is not None:
            img = impad(img, padding=self.padding, pad_val=self.pad_val, padding_mode=self.padding_mode)
        if self.pad_if_needed:
            h_pad = max(0, math.ceil((self.crop_size[0] - img.shape[0]) / 2))
            w_pad = max(0, math.ceil((self.crop_size[1] - img.shape[1]) / 2))
            if h_pad or w_pad:
                img = impad(img, padding=(w_pad, h_pad, w_pad, h_pad), pad_val=self.pad_val,
                            padding_mode=self.padding_mode)
        offset_h, offset_w, target_h, target_w = self.rand_crop_params(img)
        img = img[offset_h:offset_h + target_h, offset_w:offset_w + target_w]
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        return results


def jitter_range(owner, name: str, value, center: float = 1., bound: Tuple[float, float] = (0, math.inf),
                  clip_first_half: bool = True) -> Optional[Tuple[float, float]]:
    """``v`` -> ``(center - v, center + v)`` (clipped at 0); a pair is taken as is; 0 -> None (off)."""
    if isinstance(value, numbers.Number):
        check(value >= 0, owner, f"{name} must be >= 0, got {value}")
        value = (center - float(value), center + float(value))
        if clip_first_half:
            value = (max(0., value[0]), value[1])
    else:
        value = check_range(owner, name, value)
    check(bound[0] <= value[0] <= value[1] <= bound[1], owner, f"{name} range {value} is outside {bound}")
    return None if value[0] == value[1] == center else value


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Each of brightness/contrast/saturation is a factor range ``[max(0, 1-v), 1+v]``
    (or a given (min, max)); hue is a shift in [-0.5, 0.5] turns. ``backend`` is
    accepted for MMPretrain configs; both values run the same numpy/cv2 code.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, brightness: Union[float, Sequence[float]] = 0., contrast: Union[float, Sequence[float]] = 0.,
                 saturation: Union[float, Sequence[float]] = 0., hue: Union[float, Sequence[float]] = 0.,
                 backend: str = "pillow"):
        check_choice(self, "backend", backend, ("pillow", "cv2"))
        self.brightness = brightness
        self.contrast = contrast
        self.saturation = saturation
        self.hue = hue
        self.backend = backend
        self._ranges = [
            jitter_range(self, "brightness", brightness),
            jitter_range(self, "contrast", contrast),
            jitter_range(self, "saturation", saturation),
            jitter_range(self, "hue", hue, center=0, bound=(-0.5, 0.5), clip_first_half=False),
        ]

    @cache_randomness
    def _rand_params(self):
        order = np.random.permutation(4)
        factors = [None if r is None else float(np.random.uniform(*r)) for r in self._ranges]
        return order, factors

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        order, factors = self._rand_params()
        ops = (adjust_brightness, adjust_contrast, lambda im, f: adjust_color(im, alpha=f), adjust_hue)
        for i in order:
            if factors[i] is not None:
                img = ops[i](img, factors[i])
        results["img"] = img
        return results


@TRANSFORMS.register_module()
class Lighting(BaseTransform):
    """AlexNet PCA lighting noise with eigen-values ``eigval`` and eigen-vectors ``eigvec`` (3 x n).

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, eigval: Sequence[float], eigvec: Sequence[Sequence[float]], alphastd: float = 0.1,
                 to_rgb: bool = False):
        eigval_arr, eigvec_arr = np.asarray(eigval, np.float32), np.asarray(eigvec, np.float32)
        check(eigval_arr.ndim == 1, self, f"eigval must be a list of numbers, got {eigval!r}")
        check(eigvec_arr.shape == (3, eigval_arr.shape[0]), self,
              f"eigvec must be 3 x {eigval_arr.shape[0]}, got shape {eigvec_arr.shape}")
        check(alphastd >= 0, self, f"alphastd must be >= 0, got {alphastd}")
        self.eigval = eigval
        self.eigvec = eigvec
        self.alphastd = alphastd
        self.to_rgb = to_rgb
        self._eigval, self._eigvec = eigval_arr, eigvec_arr

    def transform(self, results: Dict) -> Dict:
        results["img"] = adjust_lighting(results["img"], self._eigval, self._eigvec, self.alphastd, self.to_rgb)
        return results


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """With probability ``erase_prob``, fill a random rectangle (Zhong et al., 2017).

    Its area is ``U(min_area_ratio, max_area_ratio)`` of the image, its aspect
    ratio log-uniform in ``aspect_range``; ``mode='const'`` fills ``fill_color``,
    ``'rand'`` fills uniform noise, or N(fill_color, fill_std) when fill_std is set.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, erase_prob: float = 0.5, min_area_ratio: float = 0.02, max_area_ratio: float = 0.4,
                 aspect_range: Union[float, Tuple[float, float]] = (3 / 10, 10 / 3), mode: str = "const",
                 fill_color: Union[float, Sequence[float]] = (128, 128, 128),
                 fill_std: Optional[Union[float, Sequence[float]]] = None):
        check_prob(self, "erase_prob", erase_prob)
        check(0 <= min_area_ratio <= max_area_ratio <= 1, self,
              f"need 0 <= min_area_ratio <= max_area_ratio <= 1, got {min_area_ratio}, {max_area_ratio}")
        if isinstance(aspect_range, numbers.Number):
            aspect_range = (min(aspect_range, 1 / aspect_range), max(aspect_range, 1 / aspect_range))
        aspect_range = check_range(self, "aspect_range", aspect_range, low=1e-8)
        check_choice(self, "mode", mode, ("const", "rand"))
        self.erase_prob = erase_prob
        self.min_area_ratio = min_area_ratio
        self.max_area_ratio = max_area_ratio
        self.aspect_range = aspect_range
        self.mode = mode
        self.fill_color = fill_color
        self.fill_std = fill_std
        self._log_aspect = np.log(np.asarray(aspect_range, np.float64))

    def _fill(self, img: np.ndarray, top: int, left: int, h: int, w: int) -> np.ndarray:
        shape = (h, w) + img.shape[2:]
        if self.mode == "const":
            patch = np.empty(shape, np.float32)
            patch[...] = self.fill_color if img.ndim == 3 else np.mean(self.fill_color)
        elif self.fill_std is None:
            patch = np.random.uniform(0, 256, shape)
        else:
            patch = np.clip(np.random.normal(self.fill_color, self.fill_std, shape), 0, 255)
        img[top:top + h, left:left + w] = patch.astype(img.dtype)
        return img

    def transform(self, results: Dict) -> Dict:
        if np.random.rand() > self.erase_prob:
            return results
        img = results["img"]
        img_h, img_w = img.shape[:2]
        aspect = np.exp(np.random.uniform(*self._log_aspect))
        area = img_h * img_w * np.random.uniform(self.min_area_ratio, self.max_area_ratio)
        h = min(int(round(np.sqrt(area * aspect))), img_h)
        w = min(int(round(np.sqrt(area / aspect))), img_w)
        top = np.random.randint(0, img_h - h) if img_h > h else 0
        left = np.random.randint(0, img_w - w) if img_w > w else 0
        results["img"] = self._fill(img.copy(), top, left, h, w)
        return results
