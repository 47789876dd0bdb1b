"""RandomGrayscale (MMCV 2.x): the colour transform that every task shares.

The classification colour augmentations (ColorJitter, Lighting, ...) live in the classification toolbox.
"""

import random
from typing import Dict, Sequence

import numpy as np

from loomcv.image import hsv2bgr
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice, check_prob

from .base import BaseTransform, cache_randomness


@TRANSFORMS.register_module()
class RandomGrayscale(BaseTransform):
    """With probability ``prob``, replace the image by the weighted sum of its channels.

    ``channel_weights`` apply in the image's own channel order and are normalised
    to sum to 1; the sum is truncated to uint8, so the pixels equal MMCV's.
    ``keep_channels`` repeats the grey channel; otherwise the result is HxWx1.
    ``color_format='hsv'`` converts an HSV image to BGR first (whether or not it
    turns grey), as MMCV does. The draw uses Python's ``random``, as MMCV's.

    Required Keys: img
    Modified Keys: img
    Added Keys: -
    """

    def __init__(self, prob: float = 0.1, keep_channels: bool = False,
                 channel_weights: Sequence[float] = (1., 1., 1.), color_format: str = "bgr"):
        check_prob(self, "prob", prob)
        check(len(channel_weights) > 0 and all(w >= 0 for w in channel_weights) and sum(channel_weights) > 0,
              self, f"channel_weights must be non-negative numbers with a positive sum, got {channel_weights!r}")
        check_choice(self, "color_format", color_format, ("bgr", "rgb", "hsv"))
        self.prob = prob
        self.keep_channels = keep_channels
        self.channel_weights = tuple(channel_weights)
        self.color_format = color_format

    @cache_randomness
    def _random_prob(self) -> float:
        return random.random()

    def transform(self, results: Dict) -> Dict:
        img = results["img"]
        if self.color_format == "hsv":
            img = hsv2bgr(img)
        if img.ndim == 2:
            img = img[..., None]
        channels = img.shape[2]
        if self._random_prob() < self.prob and channels > 1:
            check(channels == len(self.channel_weights), self,
                  f"{len(self.channel_weights)} channel_weights for an image with {channels} channels")
            weights = np.array(self.channel_weights) / sum(self.channel_weights)
            gray = (weights * img).sum(axis=2).astype(np.uint8)[..., None]
            results["img"] = np.repeat(gray, channels, axis=2) if self.keep_channels else gray
            return results
        results["img"] = img.astype(np.uint8)
        return results
