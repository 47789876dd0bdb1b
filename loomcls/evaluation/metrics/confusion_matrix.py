"""Confusion matrix: rows are true classes, columns predicted ones."""

from typing import Optional, Sequence

import torch

from loomcls.registry import METRICS
from loomcv.evaluator import BaseMetric
from ._fields import as_tensor, field, require


@METRICS.register_module()
class ConfusionMatrix(BaseMetric):
    """Counts of (true, predicted) pairs; key ``result`` is a (C, C) tensor.

    ``num_classes`` defaults to the number of classes in the dataset meta,
    else to the width of the prediction scores.
    """

    default_prefix = "confusion_matrix"

    def __init__(self, num_classes: Optional[int] = None, collect_device="cpu", prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.num_classes = num_classes

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            score = field(sample, "pred_score")
            if score is not None:
                pred = int(as_tensor(score).argmax())
                self.num_classes = self.num_classes or as_tensor(score).numel()
            else:
                pred = int(require(sample, "pred_label", "ConfusionMatrix").reshape(-1)[0])
            gt = int(require(sample, "gt_label", "ConfusionMatrix").reshape(-1)[0])
            self.results.append({"pred_label": pred, "gt_label": gt})

    def compute_metrics(self, results):
        num_classes = self.num_classes
        meta = getattr(self, "dataset_meta", None) or {}
        if num_classes is None and meta.get("classes"):
            num_classes = len(meta["classes"])
        pred = torch.tensor([r["pred_label"] for r in results])
        target = torch.tensor([r["gt_label"] for r in results])
        return {"result": self.calculate(pred, target, num_classes)}

    @staticmethod
    def calculate(pred, target, num_classes: Optional[int] = None) -> torch.Tensor:
        """``pred`` labels (N,) or scores (N, C) -> (C, C) int64 counts."""
        pred, target = as_tensor(pred), as_tensor(target).long().reshape(-1)
        if pred.dim() == 2:
            num_classes = num_classes or pred.size(1)
            pred = pred.argmax(dim=1)
        pred = pred.long()
        if num_classes is None:
            num_classes = int(max(pred.max(), target.max())) + 1 if len(target) else 0
        index = target * num_classes + pred
        return torch.bincount(index, minlength=num_classes ** 2).reshape(num_classes, num_classes)

    @staticmethod
    def plot(confusion_matrix, classes: Optional[Sequence[str]] = None, include_values: bool = True,
             cmap: str = "viridis", normalize: bool = False, title: str = "Confusion matrix"):
        """A matplotlib Figure of the matrix (rows: true class, columns: predicted)."""
        import matplotlib
        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        matrix = as_tensor(confusion_matrix).float()
        if normalize:
            matrix = matrix / matrix.sum(dim=1, keepdim=True).clamp(min=1)
        n = matrix.size(0)
        classes = list(classes) if classes is not None else [str(i) for i in range(n)]
        size = max(4.0, 0.5 * n + 2)
        fig, ax = plt.subplots(figsize=(size, size * 0.9))
        image = ax.imshow(matrix.numpy(), cmap=cmap)
        fig.colorbar(image, ax=ax)
        ax.set(xticks=range(n), yticks=range(n), xticklabels=classes, yticklabels=classes,
               xlabel="Predicted label", ylabel="True label", title=title)
        plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
        if include_values:
            top = float(matrix.max()) if matrix.numel() else 0
            for i in range(n):
                for j in range(n):
                    v = matrix[i, j].item()
                    ax.text(j, i, f"{v:.2f}" if normalize else f"{int(v)}", ha="center", va="center",
                            color="black" if v > top / 2 else "white", fontsize=8)
        fig.tight_layout()
        return fig
