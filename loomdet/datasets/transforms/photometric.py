"""Colour augmentations of MMDetection: they change pixels only, never boxes or masks."""

from typing import Dict, Sequence

import cv2
import numpy as np

from loomcv.image import bgr2hsv, hsv2bgr
from loomcv.transforms import BaseTransform, cache_randomness
from loomcv.validation import check, check_range

from ...registry import TRANSFORMS


def _bgr_image(results: Dict, owner: str) -> np.ndarray:
    if "img" not in results:
        raise KeyError(f"{owner} needs results['img'] (put LoadImageFromFile first); got keys {list(results)}")
    img = results["img"]
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{owner} works on 3-channel BGR images, got shape {img.shape} "
                         f"(load with color_type='color')")
    return img


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """SSD's colour jitter: each step applies with probability 0.5, in this order:
    brightness, contrast (here or at the end, by a coin), BGR->HSV, saturation,
    hue, HSV->BGR, contrast, channel swap. The result is float32 and is not
    clipped (as in MMDetection; the data preprocessor normalizes it).

    Args:
        brightness_delta: brightness shift drawn from [-delta, delta].
        contrast_range: contrast factor range.
        saturation_range: saturation factor range.
        hue_delta: hue shift in degrees drawn from [-delta, delta].

    Required Keys: img (uint8 or float32, BGR)
    Modified Keys: img (float32)
    Added Keys: none
    """

    def __init__(self, brightness_delta: int = 32, contrast_range: Sequence[float] = (0.5, 1.5),
                 saturation_range: Sequence[float] = (0.5, 1.5), hue_delta: int = 18):
        check(isinstance(brightness_delta, (int, float)) and brightness_delta >= 0, self,
              f"brightness_delta must be a number >= 0, got {brightness_delta!r}")
        check(isinstance(hue_delta, (int, float)) and 0 <= hue_delta <= 180, self,
              f"hue_delta must be a number of degrees in [0, 180], got {hue_delta!r}")
        self.brightness_delta = brightness_delta
        self.contrast_lower, self.contrast_upper = check_range(self, "contrast_range", contrast_range, low=0)
        self.saturation_lower, self.saturation_upper = check_range(self, "saturation_range", saturation_range,
                                                                   low=0)
        self.hue_delta = hue_delta

    @cache_randomness
    def _random_flags(self) -> tuple:
        """The coins and values of one call, drawn in MMDetection's order (same seed, same draw)."""
        mode = np.random.randint(2)
        brightness_flag, contrast_flag, saturation_flag, hue_flag, swap_flag = (
            np.random.randint(2) for _ in range(5))
        delta = np.random.uniform(-self.brightness_delta, self.brightness_delta)
        alpha = np.random.uniform(self.contrast_lower, self.contrast_upper)
        saturation = np.random.uniform(self.saturation_lower, self.saturation_upper)
        hue = np.random.uniform(-self.hue_delta, self.hue_delta)
        swap = np.random.permutation(3)
        return (mode, brightness_flag, contrast_flag, saturation_flag, hue_flag, swap_flag,
                delta, alpha, saturation, hue, swap)

    def transform(self, results: Dict) -> Dict:
        img = _bgr_image(results, type(self).__name__).astype(np.float32)
        (mode, brightness_flag, contrast_flag, saturation_flag, hue_flag, swap_flag,
         delta, alpha, saturation, hue, swap) = self._random_flags()
        if brightness_flag:
            img += delta
        if mode == 1 and contrast_flag:
            img *= alpha
        img = bgr2hsv(img)  # float input: H in degrees [0, 360), S in [0, 1]
        if saturation_flag:
            img[..., 1] *= saturation
        if hue_flag:
            hue_channel = img[..., 0]
            hue_channel += hue
            hue_channel[hue_channel > 360] -= 360
            hue_channel[hue_channel < 0] += 360
        img = hsv2bgr(img)
        if mode == 0 and contrast_flag:
            img *= alpha
        if swap_flag:
            img = img[..., swap]
        results["img"] = img
        return results

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(brightness_delta={self.brightness_delta}, "
                f"contrast_range={(self.contrast_lower, self.contrast_upper)}, "
                f"saturation_range={(self.saturation_lower, self.saturation_upper)}, hue_delta={self.hue_delta})")


@TRANSFORMS.register_module()
class YOLOXHSVRandomAug(BaseTransform):
    """YOLOX's HSV jitter on uint8 images: each of hue, saturation and value is,
    by a coin, shifted by a whole number drawn from [-delta, delta] (hue wraps at
    180, OpenCV's uint8 hue range; the others are clipped to [0, 255]).

    Required Keys: img (uint8, BGR)
    Modified Keys: img
    Added Keys: none
    """

    def __init__(self, hue_delta: int = 5, saturation_delta: int = 30, value_delta: int = 30):
        for name, value in (("hue_delta", hue_delta), ("saturation_delta", saturation_delta),
                            ("value_delta", value_delta)):
            check(isinstance(value, (int, float)) and value >= 0, self, f"{name} must be a number >= 0, got {value!r}")
        self.hue_delta = hue_delta
        self.saturation_delta = saturation_delta
        self.value_delta = value_delta

    @cache_randomness
    def _get_hsv_gains(self) -> np.ndarray:
        gains = np.random.uniform(-1, 1, 3) * [self.hue_delta, self.saturation_delta, self.value_delta]
        gains *= np.random.randint(0, 2, 3)
        return gains.astype(np.int16)

    def transform(self, results: Dict) -> Dict:
        img = _bgr_image(results, type(self).__name__)
        check(img.dtype == np.uint8, self, f"needs a uint8 image, got {img.dtype} (put it before float steps)",
              TypeError)
        gains = self._get_hsv_gains()
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + gains[0]) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + gains[1], 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + gains[2], 0, 255)
        results["img"] = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2BGR)
        return results
