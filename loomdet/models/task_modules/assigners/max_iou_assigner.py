"""Assign each prior the ground truth it overlaps most, by IoU thresholds."""

from numbers import Number
from typing import Optional, Tuple, Union

import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class MaxIoUAssigner(BaseAssigner):
    """IoU-threshold assignment used by RPN, RetinaNet and R-CNN heads.

    Each prior ends with ``gt_inds`` -1 (ignore), 0 (negative) or a 1-based
    ground-truth index, decided in this order:

    1. every prior starts ignored;
    2. priors whose best IoU is in ``[0, neg_iou_thr)`` (or in the
       ``[low, high)`` range) become negative;
    3. priors whose best IoU is ``>= pos_iou_thr`` take that ground truth;
    4. with ``match_low_quality``, each ground truth also takes the prior(s)
       it overlaps most, if that IoU is ``>= min_pos_iou``, even below
       ``pos_iou_thr``, so that no object is left without a positive (a later
       ground truth wins a prior two of them share).

    Args:
        pos_iou_thr: IoU for a positive.
        neg_iou_thr: IoU below which a prior is negative, or a ``(low, high)``
            range of IoU for negatives.
        min_pos_iou: lowest IoU a low-quality match may have.
        gt_max_assign_all: in step 4, take every prior tied at the ground
            truth's best IoU, not just the first.
        ignore_iof_thr: priors covered more than this (intersection over the
            prior's area) by an ignore box are ignored; negative disables it.
        ignore_wrt_candidates: measure that cover relative to the prior
            (True) or to the ignore box (False).
        match_low_quality: run step 4 (one-stage heads and RPN do, R-CNN not).
        gpu_assign_thr: with more ground truths than this, assign on the CPU
            to save GPU memory; negative never does.
        iou_calculator: config of the overlap calculator.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Tuple[float, float]],
                 min_pos_iou: float = .0, gt_max_assign_all: bool = True, ignore_iof_thr: float = -1,
                 ignore_wrt_candidates: bool = True, match_low_quality: bool = True,
                 gpu_assign_thr: float = -1,
                 iou_calculator: dict = dict(type="BboxOverlaps2D")) -> None:  # noqa: B006 (built from a copy)
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise ValueError(f"MaxIoUAssigner: neg_iou_thr must be a float or a (low, high) pair, "
                                 f"got {neg_iou_thr!r}")
            neg_iou_thr = tuple(neg_iou_thr)
        elif not isinstance(neg_iou_thr, Number):
            raise TypeError(f"MaxIoUAssigner: neg_iou_thr must be a float or a (low, high) pair, got {neg_iou_thr!r}")
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.gpu_assign_thr = gpu_assign_thr
        self.match_low_quality = match_low_quality
        self.iou_calculator = TASK_UTILS.build(iou_calculator)

    def assign(self, pred_instances, gt_instances, gt_instances_ignore=None, **kwargs) -> AssignResult:
        """Assign ``gt_instances`` (``.bboxes``, ``.labels``) to ``pred_instances.priors``.

        ``gt_instances_ignore.bboxes``, when given, mark regions whose priors
        are ignored (see ``ignore_iof_thr``).
        """
        gt_bboxes = gt_instances.bboxes
        priors = pred_instances.priors
        gt_labels = gt_instances.labels
        gt_bboxes_ignore = None if gt_instances_ignore is None else gt_instances_ignore.bboxes

        assign_on_cpu = self.gpu_assign_thr > 0 and gt_bboxes.shape[0] > self.gpu_assign_thr
        if assign_on_cpu:
            device = priors.device
            priors, gt_bboxes, gt_labels = priors.cpu(), gt_bboxes.cpu(), gt_labels.cpu()
            if gt_bboxes_ignore is not None:
                gt_bboxes_ignore = gt_bboxes_ignore.cpu()

        overlaps = self.iou_calculator(gt_bboxes, priors)
        if (self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0
                and priors.numel() > 0):
            if self.ignore_wrt_candidates:
                ignore_max = self.iou_calculator(priors, gt_bboxes_ignore, mode="iof").max(dim=1).values
            else:
                ignore_max = self.iou_calculator(gt_bboxes_ignore, priors, mode="iof").max(dim=0).values
            # An overlap of -1 can pass no threshold, so these priors stay ignored.
            overlaps[:, ignore_max > self.ignore_iof_thr] = -1

        result = self.assign_wrt_overlaps(overlaps, gt_labels)
        if assign_on_cpu:
            result.gt_inds = result.gt_inds.to(device)
            result.max_overlaps = result.max_overlaps.to(device)
            if result.labels is not None:
                result.labels = result.labels.to(device)
        return result

    def assign_wrt_overlaps(self, overlaps: Tensor, gt_labels: Optional[Tensor]) -> AssignResult:
        """Assign from a ``(k, n)`` overlap matrix between k ground truths and n priors."""
        num_gts, num_bboxes = overlaps.size(0), overlaps.size(1)
        assigned_gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
        if num_gts == 0 or num_bboxes == 0:
            if num_gts == 0:
                assigned_gt_inds[:] = 0  # nothing to find: every prior is background
            return AssignResult(num_gts=num_gts, gt_inds=assigned_gt_inds,
                                max_overlaps=overlaps.new_zeros((num_bboxes,)),
                                labels=overlaps.new_full((num_bboxes,), -1, dtype=torch.long))

        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)

        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            assigned_gt_inds[(max_overlaps >= low) & (max_overlaps < high)] = 0
        else:
            assigned_gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0

        pos = max_overlaps >= self.pos_iou_thr
        assigned_gt_inds[pos] = argmax_overlaps[pos] + 1

        if self.match_low_quality:
            # takes[i, j]: ground truth i claims prior j as its best match.
            if self.gt_max_assign_all:
                takes = overlaps == gt_max_overlaps[:, None]
            else:
                takes = torch.zeros_like(overlaps, dtype=torch.bool)
                takes[torch.arange(num_gts, device=overlaps.device), gt_argmax_overlaps] = True
            takes &= (gt_max_overlaps >= self.min_pos_iou)[:, None]
            # Ground truths are applied in order, so the last claimant of a prior wins.
            claim = (takes.long() * torch.arange(1, num_gts + 1, device=overlaps.device)[:, None]).max(dim=0).values
            claimed = claim > 0
            assigned_gt_inds[claimed] = claim[claimed]

        assigned_labels = assigned_gt_inds.new_full((num_bboxes,), -1)
        if gt_labels is not None:
            pos_inds = torch.nonzero(assigned_gt_inds > 0, as_tuple=False).squeeze(1)
            if pos_inds.numel() > 0:
                assigned_labels[pos_inds] = gt_labels[assigned_gt_inds[pos_inds] - 1].to(assigned_labels.dtype)
        return AssignResult(num_gts=num_gts, gt_inds=assigned_gt_inds, max_overlaps=max_overlaps,
                            labels=assigned_labels)
