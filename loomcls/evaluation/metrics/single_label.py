"""Metrics for one label per image: top-k accuracy and precision/recall/F1.

All values are percentages. Ties in scores are broken by class index (the
lower index ranks first), so results never depend on sort internals.
"""

from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F

from loomcls.registry import METRICS
from loomcv.evaluator import BaseMetric
from loomcv.validation import check_choice

from ._fields import as_tensor, field, require, thr_suffix

AVERAGES = ("macro", "micro", None)


def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def ranked(scores: torch.Tensor, k: int):
    """Top-k (scores, labels) per row; equal scores keep class order."""
    values, labels = torch.sort(scores, dim=1, descending=True, stable=True)
    return values[:, :k], labels[:, :k]


def _collect(results, metric):
    target = torch.cat([as_tensor(r["gt_label"]).reshape(-1)[:1] for r in results]).long()
    if "pred_score" in results[0]:
        return torch.stack([as_tensor(r["pred_score"]).float() for r in results]), target
    return torch.cat([as_tensor(r["pred_label"]).reshape(-1)[:1] for r in results]).long(), target


def _keep(data_sample, metric):
    result = {"gt_label": require(data_sample, "gt_label", metric)}
    score = field(data_sample, "pred_score")
    result.update(pred_score=as_tensor(score)) if score is not None else \
        result.update(pred_label=require(data_sample, "pred_label", metric))
    return result


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy.

    Args:
        topk: k values; a sample counts for top-k when its label is among the
            k highest scores.
        thrs: score thresholds; a hit also needs a score above the threshold
            (None: no threshold). Several give several results.
    Keys: ``top{k}``, with ``_thr-0.50``/``_no-thr`` when there are several thrs.
    """

    default_prefix = "accuracy"

    def __init__(self, topk: Union[int, Sequence[int]] = (1,), thrs=0.0, collect_device="cpu", prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = _as_tuple(topk)
        self.thrs = _as_tuple(thrs)
        if not all(isinstance(k, int) and k > 0 for k in self.topk):
            raise ValueError(f"Accuracy: topk must be positive integers, got {topk!r}")

    def process(self, data_batch, data_samples):
        self.results.extend(_keep(s, "Accuracy") for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> dict:
        pred, target = _collect(results, "Accuracy")
        if pred.dim() == 1:  # labels only: top-1 without thresholds
            return {"top1": self.calculate(pred, target).item()}
        table = self.calculate(pred, target, self.topk, self.thrs)
        metrics = {}
        for k, row in zip(self.topk, table):
            for thr, value in zip(self.thrs, row):
                metrics[f"top{k}" + thr_suffix(thr, len(self.thrs) > 1)] = value.item()
        return metrics

    @staticmethod
    def calculate(pred, target, topk=(1,), thrs=(0.0,)):
        """Accuracy in percent.

        ``pred`` labels (N,) -> one tensor; scores (N, C) -> ``[[acc per thr] per k]``.
        """
        pred, target = as_tensor(pred), as_tensor(target).long().reshape(-1)
        if pred.size(0) != target.size(0):
            raise ValueError(f"Accuracy: {pred.size(0)} predictions but {target.size(0)} labels")
        num = max(target.size(0), 1)
        if pred.dim() == 1:
            return (pred.long() == target).sum().float() * 100 / num
        topk, thrs = _as_tuple(topk), _as_tuple(thrs)
        maxk = max(topk)
        if maxk > pred.size(1):
            raise ValueError(f"Accuracy: topk={maxk} but the predictions only have {pred.size(1)} classes")
        scores, labels = ranked(pred.float(), maxk)
        correct = labels == target[:, None]
        table = []
        for k in topk:
            row = []
            for thr in thrs:
                hit = correct[:, :k] if thr is None else correct[:, :k] & (scores[:, :k] > thr)
                row.append(hit.any(dim=1).sum().float() * 100 / num)
            table.append(row)
        return table


def precision_recall_f1_support(pred_positive, gt_positive, average):
    """From (N, C) 0/1 matrices; classes with no predictions or no samples get 0."""
    pred_positive, gt_positive = pred_positive.bool(), gt_positive.bool()
    dims = None if average == "micro" else 0
    tp = (pred_positive & gt_positive)
    tp_sum = tp.sum() if dims is None else tp.sum(0)
    pred_sum = pred_positive.sum() if dims is None else pred_positive.sum(0)
    gt_sum = gt_positive.sum() if dims is None else gt_positive.sum(0)
    precision = tp_sum / pred_sum.clamp(min=1).float() * 100
    recall = tp_sum / gt_sum.clamp(min=1).float() * 100
    f1 = 2 * precision * recall / (precision + recall).clamp(min=torch.finfo(torch.float32).eps)
    if average in ("macro", "micro"):
        return precision.mean(), recall.mean(), f1.mean(), gt_sum.sum()
    return precision, recall, f1, gt_sum


def name_results(stats, items, average, suffix=""):
    names = ("precision", "recall", "f1-score", "support")
    out = {}
    for name, value in zip(names, stats):
        if name not in items:
            continue
        if average is None:
            out[f"{name}_classwise{suffix}"] = value.tolist()
        else:
            key = f"{name}_micro" if average == "micro" else name
            out[key + suffix] = value.item()
    return out


@METRICS.register_module()
class SingleLabelMetric(BaseMetric):
    """Precision, recall, F1-score and support of single-label predictions.

    Args:
        thrs: a prediction counts only if its top score is above the
            threshold (None: always). Several give ``_thr-0.50`` suffixes.
        items: any of 'precision', 'recall', 'f1-score', 'support'.
        average: 'macro' (mean over classes, those with no samples count 0),
            'micro' (over all samples; keys end with ``_micro``) or None
            (per class; keys end with ``_classwise``).
        num_classes: needed when predictions are labels without scores.
    """

    default_prefix = "single-label"
    ITEMS = ("precision", "recall", "f1-score", "support")

    def __init__(self, thrs=0.0, items=("precision", "recall", "f1-score"), average="macro",
                 num_classes: Optional[int] = None, collect_device="cpu", prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thrs = _as_tuple(thrs)
        for item in items:
            if item not in self.ITEMS:
                raise ValueError(f"SingleLabelMetric: unknown item {item!r}; choose from {self.ITEMS}")
        check_choice("SingleLabelMetric", "average", average, AVERAGES)
        self.items, self.average, self.num_classes = tuple(items), average, num_classes

    def process(self, data_batch, data_samples):
        self.results.extend(_keep(s, "SingleLabelMetric") for s in data_samples)

    def compute_metrics(self, results):
        pred, target = _collect(results, "SingleLabelMetric")
        if pred.dim() == 1:
            stats = self.calculate(pred, target, average=self.average, num_classes=self.num_classes)
            return name_results(stats, self.items, self.average)
        metrics = {}
        for thr, stats in zip(self.thrs, self.calculate(pred, target, self.thrs, self.average)):
            metrics.update(name_results(stats, self.items, self.average, thr_suffix(thr, len(self.thrs) > 1)))
        return metrics

    @staticmethod
    def calculate(pred, target, thrs=(0.0,), average="macro", num_classes=None):
        """Scores (N, C) -> a (precision, recall, f1, support) tuple per threshold;
        labels (N,) with ``num_classes`` -> one tuple."""
        check_choice("SingleLabelMetric", "average", average, AVERAGES)
        pred, target = as_tensor(pred), as_tensor(target).long().reshape(-1)
        if pred.dim() == 1:
            if num_classes is None:
                raise ValueError("SingleLabelMetric: num_classes is needed when predictions are labels")
            gt = F.one_hot(target, num_classes)
            return precision_recall_f1_support(F.one_hot(pred.long(), num_classes), gt, average)
        num_classes = pred.size(1)
        gt = F.one_hot(target, num_classes)
        top_score, top_label = ranked(pred.float(), 1)
        out = []
        for thr in _as_tuple(thrs):
            positive = F.one_hot(top_label[:, 0], num_classes)
            if thr is not None:
                positive[top_score[:, 0] <= thr] = 0
            out.append(precision_recall_f1_support(positive, gt, average))
        return out
