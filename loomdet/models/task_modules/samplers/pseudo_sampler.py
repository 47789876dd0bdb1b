"""The sampler that samples nothing away: every positive and negative is kept."""

import torch

from loomdet.registry import TASK_UTILS
from loomdet.structures.bbox import get_box_tensor
from .base_sampler import BaseSampler
from .sampling_result import SamplingResult


@TASK_UTILS.register_module()
class PseudoSampler(BaseSampler):
    """Keep all assigned priors; what one-stage heads (RetinaNet, FCOS...) use.

    ``avg_factor`` counts positives only, as focal-loss heads normalize by them.
    """

    def __init__(self, **kwargs) -> None:
        pass

    def _sample_pos(self, **kwargs):
        raise NotImplementedError("PseudoSampler keeps every positive; it has no _sample_pos")

    def _sample_neg(self, **kwargs):
        raise NotImplementedError("PseudoSampler keeps every negative; it has no _sample_neg")

    def sample(self, assign_result, pred_instances, gt_instances, *args, **kwargs) -> SamplingResult:
        """Positives are priors with ``gt_inds > 0``, negatives those with ``gt_inds == 0``."""
        gt_bboxes = get_box_tensor(gt_instances.bboxes)
        priors = get_box_tensor(pred_instances.priors)
        pos_inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(-1).unique()
        neg_inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(-1).unique()
        gt_flags = priors.new_zeros(priors.shape[0], dtype=torch.uint8)
        return SamplingResult(pos_inds=pos_inds, neg_inds=neg_inds, priors=priors, gt_bboxes=gt_bboxes,
                              assign_result=assign_result, gt_flags=gt_flags, avg_factor_with_neg=False)
