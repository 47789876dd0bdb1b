"""Uniform random sampling of positives and negatives (R-CNN heads)."""

from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS
from .base_sampler import BaseSampler


@TASK_UTILS.register_module()
class RandomSampler(BaseSampler):
    """Pick positives and negatives uniformly at random.

    Args:
        num, pos_fraction, neg_pos_ub, add_gt_as_proposals: see
            :class:`BaseSampler`.
        rng: an int seeds a private generator so sampling is reproducible
            regardless of the global torch seed; None uses torch's global one.
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1, add_gt_as_proposals: bool = True,
                 **kwargs) -> None:
        super().__init__(num=num, pos_fraction=pos_fraction, neg_pos_ub=neg_pos_ub,
                         add_gt_as_proposals=add_gt_as_proposals)
        rng = kwargs.get("rng", None)
        if rng is not None and not isinstance(rng, int):
            raise TypeError(f"RandomSampler: rng must be an int seed or None, got {type(rng).__name__}")
        self.rng: Optional[torch.Generator] = None
        if rng is not None:
            self.rng = torch.Generator().manual_seed(rng)

    def random_choice(self, gallery: Union[Tensor, np.ndarray, list], num: int) -> Union[Tensor, np.ndarray]:
        """``num`` distinct elements of ``gallery``; a tensor gives a tensor, else an array."""
        if len(gallery) < num:
            raise ValueError(f"RandomSampler.random_choice: cannot draw {num} from {len(gallery)} elements")
        is_tensor = isinstance(gallery, Tensor)
        if not is_tensor:
            gallery = torch.tensor(gallery, dtype=torch.long)
        # The permutation is drawn on the CPU and moved, as CUDA randperm once
        # produced out-of-range values.
        perm = torch.randperm(gallery.numel(), generator=self.rng)[:num].to(device=gallery.device)
        chosen = gallery[perm]
        return chosen if is_tensor else chosen.cpu().numpy()

    def _sample_pos(self, assign_result, num_expected: int, **kwargs):
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False)
        if pos_inds.numel() != 0:
            pos_inds = pos_inds.squeeze(1)
        if pos_inds.numel() <= num_expected:
            return pos_inds
        return self.random_choice(pos_inds, num_expected)

    def _sample_neg(self, assign_result, num_expected: int, **kwargs):
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False)
        if neg_inds.numel() != 0:
            neg_inds = neg_inds.squeeze(1)
        if len(neg_inds) <= num_expected:
            return neg_inds
        return self.random_choice(neg_inds, num_expected)
