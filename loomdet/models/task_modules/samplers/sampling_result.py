"""The positives and negatives a sampler picked, with their targets."""

from typing import Any, Dict

import torch
from torch import Tensor

from loomdet.structures.bbox import cat_boxes, get_box_tensor


class SamplingResult:
    """Sampled priors, split into positives (with their ground truths) and negatives.

    Args:
        pos_inds: indices of the positive priors.
        neg_inds: indices of the negative priors.
        priors: all ``(n, 4)`` priors (ground truths first when the sampler
            added them as proposals).
        gt_bboxes: ``(k, 4)`` ground-truth boxes.
        assign_result: the assignment the sampling was drawn from.
        gt_flags: ``(n,)`` 1 where the prior is a ground truth added as proposal.
        avg_factor_with_neg: ``avg_factor`` counts positives and negatives
            (True), or positives only.
    """

    def __init__(self, pos_inds: Tensor, neg_inds: Tensor, priors: Tensor, gt_bboxes: Tensor, assign_result,
                 gt_flags: Tensor, avg_factor_with_neg: bool = True) -> None:
        self.pos_inds = pos_inds
        self.neg_inds = neg_inds
        # At least 1 each, so a loss divided by them never divides by zero.
        self.num_pos = max(pos_inds.numel(), 1)
        self.num_neg = max(neg_inds.numel(), 1)
        self.avg_factor_with_neg = avg_factor_with_neg
        self.avg_factor = self.num_pos + self.num_neg if avg_factor_with_neg else self.num_pos
        self.pos_priors = priors[pos_inds]
        self.neg_priors = priors[neg_inds]
        self.pos_is_gt = gt_flags[pos_inds]

        self.num_gts = gt_bboxes.shape[0]
        self.pos_assigned_gt_inds = assign_result.gt_inds[pos_inds] - 1
        self.pos_gt_labels = assign_result.labels[pos_inds]
        gt_bboxes = get_box_tensor(gt_bboxes)
        if gt_bboxes.numel() == 0:
            if self.pos_assigned_gt_inds.numel() != 0:
                raise ValueError("SamplingResult: positives were assigned but gt_bboxes is empty")
            self.pos_gt_bboxes = gt_bboxes.view(-1, 4)
        else:
            if gt_bboxes.dim() < 2:
                gt_bboxes = gt_bboxes.view(-1, 4)
            self.pos_gt_bboxes = gt_bboxes[self.pos_assigned_gt_inds.long()]

    @property
    def priors(self) -> Tensor:
        """Positive then negative priors."""
        return cat_boxes([self.pos_priors, self.neg_priors])

    def to(self, device) -> "SamplingResult":
        """Move every tensor to ``device`` in place."""
        for key, value in self.__dict__.items():
            if isinstance(value, torch.Tensor):
                self.__dict__[key] = value.to(device)
        return self

    @property
    def info(self) -> Dict[str, Any]:
        """The result as a dict (for logging and debugging)."""
        return dict(pos_inds=self.pos_inds, neg_inds=self.neg_inds, pos_priors=self.pos_priors,
                    neg_priors=self.neg_priors, pos_is_gt=self.pos_is_gt, num_gts=self.num_gts,
                    pos_assigned_gt_inds=self.pos_assigned_gt_inds, num_pos=self.num_pos, num_neg=self.num_neg,
                    avg_factor=self.avg_factor)

    def __repr__(self) -> str:
        data = self.info
        data["pos_priors"] = tuple(data["pos_priors"].shape)
        data["neg_priors"] = tuple(data["neg_priors"].shape)
        body = ",\n".join(f"    {k!r}: {v!r}" for k, v in sorted(data.items()))
        return f"<SamplingResult({{\n{body}\n}})>"
