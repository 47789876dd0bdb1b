"""Shared sampling procedure: pick positives, then negatives up to a budget."""

from abc import ABCMeta, abstractmethod

import torch

from loomdet.structures.bbox import get_box_tensor
from .sampling_result import SamplingResult


class BaseSampler(metaclass=ABCMeta):
    """Draw ``num`` priors, about ``pos_fraction`` of them positive.

    Args:
        num: priors per image.
        pos_fraction: share of positives aimed for; negatives fill the rest.
        neg_pos_ub: at most this many negatives per positive (-1: no bound).
        add_gt_as_proposals: add the ground-truth boxes themselves as priors
            (two-stage RoI heads), so every image has positives.
    """

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1, add_gt_as_proposals: bool = True,
                 **kwargs) -> None:
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals
        self.pos_sampler = self
        self.neg_sampler = self

    @abstractmethod
    def _sample_pos(self, assign_result, num_expected: int, **kwargs):
        """Indices of at most ``num_expected`` positives."""

    @abstractmethod
    def _sample_neg(self, assign_result, num_expected: int, **kwargs):
        """Indices of at most ``num_expected`` negatives."""

    def sample(self, assign_result, pred_instances, gt_instances, **kwargs) -> SamplingResult:
        """Sample from ``assign_result`` over ``pred_instances.priors``.

        ``gt_instances`` needs ``.bboxes`` and ``.labels``. With
        ``add_gt_as_proposals`` the assignment is extended in place
        (:meth:`AssignResult.add_gt_`).
        """
        gt_bboxes = get_box_tensor(gt_instances.bboxes)
        priors = get_box_tensor(pred_instances.priors)
        gt_labels = gt_instances.labels
        if priors.dim() < 2:
            priors = priors[None, :]
        priors = priors[:, :4]

        gt_flags = priors.new_zeros((priors.shape[0],), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            priors = torch.cat([gt_bboxes.to(priors.dtype), priors], dim=0)
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([priors.new_ones(gt_bboxes.shape[0], dtype=torch.uint8), gt_flags])

        num_expected_pos = int(self.num * self.pos_fraction)
        pos_inds = self.pos_sampler._sample_pos(assign_result, num_expected_pos, bboxes=priors, **kwargs).unique()
        num_sampled_pos = pos_inds.numel()
        num_expected_neg = self.num - num_sampled_pos
        if self.neg_pos_ub >= 0:
            neg_upper_bound = int(self.neg_pos_ub * max(1, num_sampled_pos))
            num_expected_neg = min(num_expected_neg, neg_upper_bound)
        neg_inds = self.neg_sampler._sample_neg(assign_result, num_expected_neg, bboxes=priors, **kwargs).unique()

        return SamplingResult(pos_inds=pos_inds, neg_inds=neg_inds, priors=priors, gt_bboxes=gt_bboxes,
                              assign_result=assign_result, gt_flags=gt_flags)
