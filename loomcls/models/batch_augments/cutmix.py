"""CutMix (Yun et al., 2019): paste a box from another sample; scores mix by
the pasted area."""

import numpy as np
import torch

from loomcls.registry import BATCH_AUGMENTS
from .mixup import Mixup


@BATCH_AUGMENTS.register_module()
class CutMix(Mixup):
    """Args:
        alpha: ``lam ~ Beta(alpha, alpha)``; the box covers about ``1 - lam`` of the image.
        cutmix_minmax: (min, max) box side as a fraction of the image side,
            sampled uniformly instead of from ``lam``.
        correct_lam: recompute ``lam`` from the box actually pasted (after
            clipping at the border, or with ``cutmix_minmax``).
    """

    def __init__(self, alpha: float, cutmix_minmax=None, correct_lam: bool = True):
        super().__init__(alpha)
        if cutmix_minmax is not None and not (len(cutmix_minmax) == 2 and
                                              0 < cutmix_minmax[0] <= cutmix_minmax[1] <= 1):
            raise ValueError(f"CutMix: cutmix_minmax must be (min, max) with 0 < min <= max <= 1, "
                             f"got {cutmix_minmax!r}")
        self.cutmix_minmax = cutmix_minmax
        self.correct_lam = correct_lam

    def box(self, lam: float, height: int, width: int):
        """(y1, y2, x1, x2) of the pasted box, and the lam that matches it."""
        if self.cutmix_minmax is not None:
            lo, hi = self.cutmix_minmax
            cut_h = int(np.random.randint(int(height * lo), int(height * hi) + 1))
            cut_w = int(np.random.randint(int(width * lo), int(width * hi) + 1))
            y1 = int(np.random.randint(0, height - cut_h + 1))
            x1 = int(np.random.randint(0, width - cut_w + 1))
            y2, x2 = y1 + cut_h, x1 + cut_w
        else:
            ratio = np.sqrt(1 - lam)
            cut_h, cut_w = int(height * ratio), int(width * ratio)
            cy, cx = np.random.randint(height), np.random.randint(width)
            y1, y2 = np.clip([cy - cut_h // 2, cy + cut_h // 2], 0, height)
            x1, x2 = np.clip([cx - cut_w // 2, cx + cut_w // 2], 0, width)
        if self.correct_lam or self.cutmix_minmax is not None:
            lam = 1 - (y2 - y1) * (x2 - x1) / float(height * width)
        return (int(y1), int(y2), int(x1), int(x2)), lam

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor):
        lam = self.sample_lambda()
        perm = torch.randperm(inputs.size(0), device=inputs.device)
        (y1, y2, x1, x2), lam = self.box(lam, inputs.shape[-2], inputs.shape[-1])
        mixed = inputs.clone()
        mixed[..., y1:y2, x1:x2] = inputs[perm][..., y1:y2, x1:x2]
        return mixed, lam * scores + (1 - lam) * scores[perm]

    def __repr__(self):
        return (f"CutMix(alpha={self.alpha}, cutmix_minmax={self.cutmix_minmax}, "
                f"correct_lam={self.correct_lam})")
