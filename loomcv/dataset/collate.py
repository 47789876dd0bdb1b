"""Collate functions (registered in FUNCTIONS): a list of samples -> one batch."""

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from loomcv.registry import FUNCTIONS
from loomcv.structures import BaseDataElement


def _check_lengths(batch: Sequence) -> None:
    lengths = {len(s) for s in batch}
    if len(lengths) > 1:
        raise ValueError(f"collate: the samples are sequences of different lengths {sorted(lengths)}")


@FUNCTIONS.register_module()
def pseudo_collate(data_batch: Sequence) -> Any:
    """Transpose without stacking: a list of dicts -> a dict of lists (recursively).

    Images of different sizes and DataSamples stay lists; the model's data
    preprocessor stacks and pads them.
    """
    elem = data_batch[0]
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(pseudo_collate(s) for s in zip(*data_batch)))
    if isinstance(elem, Mapping):
        return {k: pseudo_collate([d[k] for d in data_batch]) for k in elem}
    if isinstance(elem, Sequence) and not isinstance(elem, str):
        _check_lengths(data_batch)
        transposed = [pseudo_collate(list(s)) for s in zip(*data_batch)]
        return transposed if isinstance(elem, list) else type(elem)(transposed)
    return list(data_batch)


@FUNCTIONS.register_module()
def default_collate(data_batch: Sequence) -> Any:
    """Like pseudo_collate, but stacks tensors, arrays and numbers into tensors.

    Data elements (DataSample) and strings stay lists.
    """
    elem = data_batch[0]
    if isinstance(elem, (BaseDataElement, str, bytes)) or elem is None:
        return list(data_batch)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*data_batch)))
    if isinstance(elem, Mapping):
        return {k: default_collate([d[k] for d in data_batch]) for k in elem}
    if isinstance(elem, Sequence):
        _check_lengths(data_batch)
        transposed = [default_collate(list(s)) for s in zip(*data_batch)]
        return transposed if isinstance(elem, list) else type(elem)(transposed)
    if isinstance(elem, torch.Tensor):
        shapes = {tuple(t.shape) for t in data_batch}
        if len(shapes) > 1:
            raise ValueError(f"default_collate cannot stack tensors of shapes {sorted(shapes)}; "
                             f"use pseudo_collate and let the data preprocessor pad them")
        return torch.stack(list(data_batch))
    if isinstance(elem, np.ndarray):
        return default_collate([torch.from_numpy(np.ascontiguousarray(a)) for a in data_batch])
    if isinstance(elem, (bool, int, float, np.number)):
        return torch.tensor(data_batch)
    return list(data_batch)
