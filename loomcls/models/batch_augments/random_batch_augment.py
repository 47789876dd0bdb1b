"""Pick one batch augment per batch (or none), as ClsDataPreprocessor does
with ``batch_augments=dict(augments=[...], probs=[...])``."""

from collections.abc import Callable as CallableType

import numpy as np

from loomcls.registry import BATCH_AUGMENTS
from loomcv.registry import build_or_accept


class RandomBatchAugment:
    """Args:
        augments: one config/object or a list of them (Mixup, CutMix...).
        probs: probability of each; if they sum to less than 1 the rest is
            the probability of leaving the batch as is. Default: uniform.
    """

    def __init__(self, augments, probs=None):
        if not isinstance(augments, (list, tuple)):
            augments = [augments]
        self.augments = [build_or_accept(a, BATCH_AUGMENTS, CallableType, "each augment", self) for a in augments]
        if probs is None:
            probs = [1.0 / len(self.augments)] * len(self.augments)
        probs = [float(p) for p in (probs if isinstance(probs, (list, tuple)) else [probs])]
        if len(probs) != len(self.augments):
            raise ValueError(f"RandomBatchAugment: {len(self.augments)} augments but {len(probs)} probs")
        if any(p < 0 for p in probs) or sum(probs) > 1 + 1e-6:
            raise ValueError(f"RandomBatchAugment: probs must be >= 0 and sum to at most 1, got {probs}")
        self.probs = probs + [max(0.0, 1 - sum(probs))]

    def __call__(self, inputs, scores):
        choice = np.random.choice(len(self.probs), p=np.array(self.probs) / sum(self.probs))
        if choice == len(self.augments):
            return inputs, scores
        return self.augments[choice](inputs, scores)

    def __repr__(self):
        return f"RandomBatchAugment(augments={self.augments}, probs={self.probs[:-1]})"
