"""Metrics for several labels per image: precision/recall/F1 and average precision.

Ground truth may be ``gt_score`` (multi-hot, -1 marks a label to ignore in
AveragePrecision) or ``gt_label`` (a list of class indices).
"""

from typing import Optional

import torch

from loomcls.registry import METRICS
from loomcv.evaluator import BaseMetric
from loomcv.validation import check_choice

from ._fields import as_tensor, field, require
from .single_label import AVERAGES, name_results, precision_recall_f1_support


def _keep(sample, metric):
    score = require(sample, "pred_score", metric).float()
    result = {"pred_score": score}
    gt_score = field(sample, "gt_score")
    if gt_score is not None:
        result["gt_score"] = as_tensor(gt_score).float()
    else:
        labels = require(sample, "gt_label", metric).long().reshape(-1)
        result["gt_score"] = torch.zeros(score.numel()).index_fill_(0, labels, 1)
    return result


def _collect(results):
    return (torch.stack([r["pred_score"] for r in results]),
            torch.stack([r["gt_score"] for r in results]))


@METRICS.register_module()
class MultiLabelMetric(BaseMetric):
    """Precision, recall and F1 with each class decided independently.

    Args:
        thr: a class is predicted when its score >= thr (default 0.5 when
            neither thr nor topk is given). Keys get ``_thr-0.50``.
        topk: predict the k highest-scoring classes instead; keys get ``_top{k}``.
        items / average: as in SingleLabelMetric.
    """

    default_prefix = "multi-label"

    def __init__(self, thr: Optional[float] = None, topk: Optional[int] = None,
                 items=("precision", "recall", "f1-score"), average="macro", collect_device="cpu", prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if thr is not None and topk is not None:
            raise ValueError("MultiLabelMetric: give thr or topk, not both")
        check_choice(self, "average", average, AVERAGES)
        self.thr = 0.5 if thr is None and topk is None else thr
        self.topk, self.items, self.average = topk, tuple(items), average

    def process(self, data_batch, data_samples):
        self.results.extend(_keep(s, "MultiLabelMetric") for s in data_samples)

    def compute_metrics(self, results):
        pred, target = _collect(results)
        stats = self.calculate(pred, target, self.thr, self.topk, self.average)
        suffix = f"_thr-{self.thr:.2f}" if self.thr is not None else f"_top{self.topk}"
        return name_results(stats, self.items, self.average, suffix)

    @staticmethod
    def calculate(pred, target, thr=0.5, topk=None, average="macro"):
        """Scores (N, C) and multi-hot targets (N, C) -> (precision, recall, f1, support)."""
        pred, target = as_tensor(pred).float(), as_tensor(target)
        if topk is not None:
            positive = torch.zeros_like(pred).scatter_(1, pred.topk(topk, dim=1).indices, 1)
        else:
            positive = pred >= thr
        return precision_recall_f1_support(positive, target > 0, average)


def average_precision(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """AP of one class: the mean, over its positives ranked by score, of the
    precision at each positive's rank. Targets of -1 are ignored."""
    keep = target > -1
    pred, target = pred[keep], target[keep]
    order = torch.sort(pred, descending=True, stable=True).indices
    positive = (target[order] == 1).float()
    hits = positive.cumsum(0)
    precision = hits / torch.arange(1, len(positive) + 1)
    return (precision * positive).sum() / positive.sum().clamp(min=1)


@METRICS.register_module()
class AveragePrecision(BaseMetric):
    """Average precision per class; key ``mAP`` (macro) or ``AP_classwise``."""

    default_prefix = "multi-label"

    def __init__(self, average: Optional[str] = "macro", collect_device="cpu", prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if average not in ("macro", None):
            raise ValueError(f"AveragePrecision: average must be 'macro' or None, got {average!r}")
        self.average = average

    def process(self, data_batch, data_samples):
        self.results.extend(_keep(s, "AveragePrecision") for s in data_samples)

    def compute_metrics(self, results):
        pred, target = _collect(results)
        ap = self.calculate(pred, target, self.average)
        return {"mAP": ap.item()} if self.average == "macro" else {"AP_classwise": ap.tolist()}

    @staticmethod
    def calculate(pred, target, average="macro"):
        """Percent AP per class (average None) or their mean ('macro')."""
        pred, target = as_tensor(pred).float(), as_tensor(target)
        if pred.shape != target.shape:
            raise ValueError(f"AveragePrecision: scores {tuple(pred.shape)} and targets "
                             f"{tuple(target.shape)} differ in shape")
        ap = torch.stack([average_precision(pred[:, c], target[:, c]) for c in range(pred.size(1))]) * 100
        return ap.mean() if average == "macro" else ap
