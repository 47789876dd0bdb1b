"""Colour transforms: ColorJitter, RandomGrayscale, Lighting, RandomErasing (MMPretrain 1.x)."""

import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import (adjust_brightness, adjust_color, adjust_contrast, adjust_hue, adjust_lighting)
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob, check_range

from .base import BaseTransform, cache_randomness


def _jitter_range(owner, name: str, value, center: float = 1., bound: Tuple[float, float] = (0, math.inf),
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
            _jitter_range(self, "brightness", brightness),
            _jitter_range(self, "contrast", contrast),
            _jitter_range(self, "saturation", saturation),
            _jitter_range(self, "hue", hue, center=0, bound=(-0.5, 0.5), clip_first_half=False),
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
class RandomGrayscale(BaseTransform):
    """With probability ``prob``, replace the image by the weighted sum of its channels.

    ``channel_weights`` are in the image's channel order (``color_format``) and are
    normalised to sum to 1; ``keep_channels`` repeats the grey channel 3 times.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, prob: float = 0.1, keep_channels: bool = False,
                 channel_weights: Sequence[float] = (1., 1., 1.), color_format: str = "bgr"):
        check_prob(self, "prob", prob)
        check(len(channel_weights) == 3 and all(w >= 0 for w in channel_weights) and sum(channel_weights) > 0,
              self, f"channel_weights must be 3 non-negative numbers, got {channel_weights!r}")
        check_choice(self, "color_format", color_format, ("bgr", "rgb"))
        self.prob = prob
        self.keep_channels = keep_channels
        self.channel_weights = tuple(channel_weights)
        self.color_format = color_format
        w = np.asarray(channel_weights, np.float32)
        self._weights = w / w.sum()

    @cache_randomness
    def random_apply(self) -> bool:
        return np.random.rand() < self.prob

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        if not self.random_apply() or img.ndim != 3 or img.shape[2] != 3:
            return results
        gray = (img.astype(np.float32) @ self._weights)[..., None]
        if np.issubdtype(img.dtype, np.integer):
            gray = np.clip(np.round(gray), 0, 255)
        gray = gray.astype(img.dtype)
        results["img"] = np.repeat(gray, 3, axis=2) if self.keep_channels else gray
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
