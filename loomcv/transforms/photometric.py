"""Colour transforms: ColorJitter, RandomGrayscale, Lighting, RandomErasing (MMPretrain 1.x)."""

from typing import Dict, Sequence

import numpy as np

from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob

from .base import BaseTransform, cache_randomness


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


