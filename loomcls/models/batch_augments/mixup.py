"""Mixup (Zhang et al., 2018): blend each image and its one-hot score with
another sample of the batch."""

import numpy as np
import torch

from loomcls.registry import BATCH_AUGMENTS


@BATCH_AUGMENTS.register_module()
class Mixup:
    """``x' = lam * x + (1 - lam) * x[perm]``, same for scores; ``lam ~ Beta(alpha, alpha)``."""

    def __init__(self, alpha: float):
        if not (isinstance(alpha, (int, float)) and alpha > 0):
            raise ValueError(f"{type(self).__name__}: alpha must be a positive number, got {alpha!r}")
        self.alpha = alpha

    def sample_lambda(self) -> float:
        return float(np.random.beta(self.alpha, self.alpha))

    def mix(self, inputs: torch.Tensor, scores: torch.Tensor):
        lam = self.sample_lambda()
        perm = torch.randperm(inputs.size(0), device=inputs.device)
        mixed = lam * inputs + (1 - lam) * inputs[perm]
        return mixed, lam * scores + (1 - lam) * scores[perm]

    def __call__(self, inputs: torch.Tensor, scores: torch.Tensor):
        if scores.dim() != 2 or scores.size(0) != inputs.size(0):
            raise ValueError(f"{type(self).__name__}: scores must be (N, num_classes) with N = "
                             f"{inputs.size(0)}, got shape {tuple(scores.shape)}")
        return self.mix(inputs, scores)

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha})"
