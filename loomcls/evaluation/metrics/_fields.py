"""Read prediction/ground-truth fields from a data sample given either as a
DataSample or as the dict an Evaluator makes of it."""

from collections.abc import Mapping

import numpy as np
import torch


def field(sample, name, default=None):
    if isinstance(sample, Mapping):
        return sample.get(name, default)
    if hasattr(sample, "keys") and name in sample.keys():
        return getattr(sample, name)
    return default


def as_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return torch.as_tensor(value)


def thr_suffix(thr, several: bool) -> str:
    """'' for a single threshold, else '_no-thr' or '_thr-0.50'."""
    if not several:
        return ""
    return "_no-thr" if thr is None else f"_thr-{thr:.2f}"


def require(sample, name: str, metric: str):
    value = field(sample, name)
    if value is None:
        raise KeyError(f"{metric}: the data sample has no {name!r}; the model's predict step must set it "
                       "(and the dataset the ground truth)")
    return as_tensor(value)
