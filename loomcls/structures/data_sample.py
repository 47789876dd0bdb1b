"""DataSample: one image's labels, scores and predictions (classification)."""

import numbers
from typing import Sequence, Union

import numpy as np
import torch

from loomcv.structures import BaseDataElement

LabelLike = Union[torch.Tensor, np.ndarray, Sequence[int], int]


def format_label(value: LabelLike) -> torch.Tensor:
    """int / list / ndarray / tensor -> 1-D LongTensor."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = torch.tensor([value])
    elif isinstance(value, Sequence) and not isinstance(value, str):
        value = torch.tensor(list(value))
    elif not isinstance(value, torch.Tensor):
        raise TypeError(f"a label must be an int, a sequence of ints, an ndarray or a tensor, "
                        f"got {type(value).__name__}")
    if value.ndim == 0:
        value = value.reshape(1)
    if value.ndim != 1:
        raise ValueError(f"a label must be 1-D, got shape {tuple(value.shape)}")
    if value.is_floating_point():
        raise TypeError(f"a label must hold integers, got {value.dtype}; use set_gt_score for scores")
    return value.long()


def format_score(value: Union[torch.Tensor, np.ndarray, Sequence[float]]) -> torch.Tensor:
    """list / ndarray / tensor -> 1-D float tensor."""
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        value = torch.tensor(list(value))
    elif not isinstance(value, torch.Tensor):
        raise TypeError(f"a score must be a sequence, an ndarray or a tensor, got {type(value).__name__}")
    if value.ndim != 1:
        raise ValueError(f"a score must be 1-D, got shape {tuple(value.shape)}")
    return value if value.is_floating_point() else value.float()


class DataSample(BaseDataElement):
    """Classification sample: ``gt_label``/``gt_score`` and ``pred_label``/``pred_score``."""

    def _check_num_classes(self, score: torch.Tensor, name: str) -> None:
        num_classes = self.get("num_classes")
        if num_classes is not None and score.numel() != num_classes:
            raise ValueError(f"{name} has {score.numel()} values but num_classes is {num_classes}")

    def set_gt_label(self, value: LabelLike) -> "DataSample":
        self.set_field(format_label(value), "gt_label", dtype=torch.Tensor)
        return self

    def set_gt_score(self, value) -> "DataSample":
        score = format_score(value)
        self._check_num_classes(score, "gt_score")
        self.set_field(score, "gt_score", dtype=torch.Tensor)
        return self

    def set_pred_label(self, value: LabelLike) -> "DataSample":
        self.set_field(format_label(value), "pred_label", dtype=torch.Tensor)
        return self

    def set_pred_score(self, value) -> "DataSample":
        score = format_score(value)
        self._check_num_classes(score, "pred_score")
        self.set_field(score, "pred_score", dtype=torch.Tensor)
        return self
