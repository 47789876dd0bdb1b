"""YOLOv3's assignment: IoU thresholds, with positives restricted to the cell of each ground truth."""

from numbers import Number
from typing import Tuple, Union

import torch

from loomdet.registry import TASK_UTILS
from .assign_result import AssignResult
from .base_assigner import BaseAssigner


@TASK_UTILS.register_module()
class GridAssigner(BaseAssigner):
    """Assign ground truths to priors that lie in the cell containing the ground truth's center.

    ``pred_instances`` carries ``priors`` and ``responsible_flags`` (1 for the
    priors of the cells that contain a ground-truth center). Each prior ends
    with ``gt_inds`` -1 (ignore), 0 (negative) or a 1-based ground-truth index:

    1. every prior starts ignored;
    2. priors whose best IoU with any ground truth is in ``[0, neg_iou_thr]``
       (or in ``(low, high]`` for a pair) become negative;
    3. responsible priors whose best IoU among ground truths is above
       ``pos_iou_thr`` take that ground truth;
    4. each ground truth takes the responsible prior(s) it overlaps most, if
       that IoU is above ``min_pos_iou`` (a later ground truth wins a prior
       two of them share).

    Args:
        pos_iou_thr: IoU above which a responsible prior is positive.
        neg_iou_thr: IoU at or below which a prior is negative, or a
            ``(low, high)`` range.
        min_pos_iou: lowest IoU (exclusive) for step 4.
        gt_max_assign_all: in step 4, take every responsible prior tied at the
            ground truth's best IoU, not just the first.
        iou_calculator: config of the overlap calculator.
    """

    def __init__(self, pos_iou_thr: float, neg_iou_thr: Union[float, Tuple[float, float]], min_pos_iou: float = .0,
                 gt_max_assign_all: bool = True,
                 iou_calculator: dict = dict(type="BboxOverlaps2D")) -> None:  # noqa: B006 (built from a copy)
        if isinstance(neg_iou_thr, (tuple, list)):
            if len(neg_iou_thr) != 2:
                raise ValueError(f"GridAssigner: neg_iou_thr must be a float or a (low, high) pair, got "
                                 f"{neg_iou_thr!r}")
            neg_iou_thr = tuple(neg_iou_thr)
        elif not isinstance(neg_iou_thr, Number):
            raise TypeError(f"GridAssigner: neg_iou_thr must be a float or a (low, high) pair, got {neg_iou_thr!r}")
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.iou_calculator = TASK_UTILS.build(iou_calculator)

    def assign(self, pred_instances, gt_instances, gt_instances_ignore=None, **kwargs) -> AssignResult:
        """Assign ``gt_instances`` (``.bboxes``, ``.labels``) to ``pred_instances.priors``."""
        if "responsible_flags" not in pred_instances:
            raise KeyError("GridAssigner.assign: pred_instances needs 'responsible_flags' next to 'priors' "
                           "(which priors lie in a cell containing a ground-truth center)")
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        priors = pred_instances.priors
        responsible = pred_instances.responsible_flags.bool()
        num_gts, num_priors = gt_bboxes.size(0), priors.size(0)

        overlaps = self.iou_calculator(gt_bboxes, priors)
        assigned_gt_inds = overlaps.new_full((num_priors,), -1, dtype=torch.long)
        if num_gts == 0 or num_priors == 0:
            if num_gts == 0:
                assigned_gt_inds[:] = 0
            return AssignResult(num_gts, assigned_gt_inds, overlaps.new_zeros((num_priors,)),
                                labels=overlaps.new_full((num_priors,), -1, dtype=torch.long))

        max_overlaps = overlaps.max(dim=0).values
        if isinstance(self.neg_iou_thr, tuple):
            low, high = self.neg_iou_thr
            assigned_gt_inds[(max_overlaps > low) & (max_overlaps <= high)] = 0
        else:
            assigned_gt_inds[(max_overlaps >= 0) & (max_overlaps <= self.neg_iou_thr)] = 0

        # From here on only responsible priors may become positive.
        overlaps[:, ~responsible] = -1.
        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)

        pos = (max_overlaps > self.pos_iou_thr) & responsible
        assigned_gt_inds[pos] = argmax_overlaps[pos] + 1

        # takes[i, j]: ground truth i claims prior j as its best responsible match.
        if self.gt_max_assign_all:
            takes = (overlaps == gt_max_overlaps[:, None]) & responsible[None, :]
        else:
            takes = torch.zeros_like(overlaps, dtype=torch.bool)
            rows = torch.arange(num_gts, device=overlaps.device)
            takes[rows, gt_argmax_overlaps] = responsible[gt_argmax_overlaps]
        takes &= (gt_max_overlaps > self.min_pos_iou)[:, None]
        # Ground truths are applied in order, so the last claimant of a prior wins.
        claim = (takes.long() * torch.arange(1, num_gts + 1, device=overlaps.device)[:, None]).max(dim=0).values
        assigned_gt_inds[claim > 0] = claim[claim > 0]

        assigned_labels = assigned_gt_inds.new_full((num_priors,), -1)
        pos_inds = torch.nonzero(assigned_gt_inds > 0, as_tuple=False).squeeze(1)
        if pos_inds.numel() > 0:
            assigned_labels[pos_inds] = gt_labels[assigned_gt_inds[pos_inds] - 1].to(assigned_labels.dtype)
        return AssignResult(num_gts, assigned_gt_inds, max_overlaps, labels=assigned_labels)
