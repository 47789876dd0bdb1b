"""ResizeMix (Qin et al., 2020): paste a whole other image, shrunk, into a box; scores mix by
the box's area, so the pasted object is complete and its label honest."""

import torch
import torch.nn.functional as F

from loomcls.registry import BATCH_AUGMENTS
from loomcv.validation import check, check_choice
from .cutmix import CutMix

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area")  # the F.interpolate modes for images


@BATCH_AUGMENTS.register_module()
class ResizeMix(CutMix):
    """Args (MMPretrain's):
        alpha: ``Beta(alpha, alpha)`` draws lam, mapped linearly onto ``[lam_min, lam_max]``;
            the box side is ``sqrt(1 - lam)`` of the image side.
        lam_min, lam_max: the range of lam.
        interpolation: how the other image is shrunk (an ``F.interpolate`` mode for 2-d images).
        cutmix_minmax, correct_lam: as in :class:`CutMix`.
    """

    def __init__(self, alpha: float, lam_min: float = 0.1, lam_max: float = 0.8,
                 interpolation: str = "bilinear", cutmix_minmax=None, correct_lam: bool = True):
        super().__init__(alpha=alpha, cutmix_minmax=cutmix_minmax, correct_lam=correct_lam)
        check(0 <= lam_min <= lam_max <= 1, self, f"need 0 <= lam_min <= lam_max <= 1, got {lam_min}, {lam_max}")
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.lam_min, self.lam_max = lam_min, lam_max
        self.interpolation = interpolation

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor):
        lam = self.sample_lambda() * (self.lam_max - self.lam_min) + self.lam_min
        perm = torch.randperm(inputs.size(0), device=inputs.device)
        (y1, y2, x1, x2), lam = self.box(lam, inputs.shape[-2], inputs.shape[-1])
        mixed = inputs.clone()
        if y2 > y1 and x2 > x1:  # a box clipped to nothing pastes nothing (lam is then 1)
            resize_kwargs = {} if self.interpolation in ("nearest", "area") else {"align_corners": False}
            pasted = F.interpolate(inputs[perm].float(), size=(y2 - y1, x2 - x1), mode=self.interpolation,
                                   **resize_kwargs)
            mixed[..., y1:y2, x1:x2] = pasted.to(mixed.dtype)
        return mixed, lam * scores + (1 - lam) * scores[perm]

    def __repr__(self):
        return (f"ResizeMix(alpha={self.alpha}, lam_min={self.lam_min}, lam_max={self.lam_max}, "
                f"interpolation={self.interpolation!r}, cutmix_minmax={self.cutmix_minmax}, "
                f"correct_lam={self.correct_lam})")
