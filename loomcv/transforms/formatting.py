"""Formatting: results values to tensors and arrays (MMCV names).

The MMCV 1.x-only ``Collect`` lives in :mod:`loomcv.legacy.transforms`.
"""

import numbers
from typing import Any, Dict, Sequence, Tuple

import numpy as np
import torch

from loomcv.registry import TRANSFORMS
from loomcv.validation import check

from .base import BaseTransform


def to_tensor(data: Any) -> torch.Tensor:
    """ndarray / sequence / int / float -> tensor (ints become LongTensor, floats FloatTensor)."""
    if isinstance(data, torch.Tensor):
        return data
    if isinstance(data, np.ndarray):
        return torch.from_numpy(data if data.flags.writeable else data.copy())
    if isinstance(data, Sequence) and not isinstance(data, str):
        return torch.tensor(data)
    if isinstance(data, numbers.Integral):
        return torch.LongTensor([data])
    if isinstance(data, float):
        return torch.FloatTensor([data])
    raise TypeError(f"cannot convert {type(data).__name__} to a tensor")


def image_to_chw(img: Any) -> torch.Tensor:
    """HxW or HxWxC array -> contiguous CxHxW tensor of the same dtype (one copy)."""
    if isinstance(img, torch.Tensor):
        return img
    if not isinstance(img, np.ndarray):  # PIL images and the like
        img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def key_tuple(owner, keys) -> Tuple[str, ...]:
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    check(all(isinstance(k, str) for k in keys), owner, f"keys must be strings, got {keys!r}")
    return keys


@TRANSFORMS.register_module()
class ToTensor(BaseTransform):
    """Convert ``results[key]`` to a tensor for each of ``keys``.

    A dotted key reaches into nested dicts: ``'instances.bbox'`` converts
    ``results['instances']['bbox']``.

    Required Keys: keys
    Modified Keys: keys
    Added Keys: -
    """

    def __init__(self, keys: Sequence[str]):
        self.keys = key_tuple(self, keys)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            parent, path = results, key.split(".")
            for depth, part in enumerate(path):
                if not isinstance(parent, dict) or part not in parent:
                    where = ".".join(path[:depth]) or "results"
                    raise KeyError(f"ToTensor: key {key!r} not found: {where} has no {part!r}")
                if depth == len(path) - 1:
                    parent[part] = to_tensor(parent[part])
                else:
                    parent = parent[part]
        return results


@TRANSFORMS.register_module()
class ImageToTensor(BaseTransform):
    """Convert HxWxC images under ``keys`` to CxHxW tensors (MMCV 1.x)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = key_tuple(self, keys)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            results[key] = image_to_chw(results[key])
        return results


@TRANSFORMS.register_module()
class Transpose(BaseTransform):
    """Transpose arrays (or tensors) under ``keys`` by ``order``."""

    def __init__(self, keys: Sequence[str], order: Sequence[int]):
        self.keys = key_tuple(self, keys)
        self.order = tuple(order)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            value = results[key]
            results[key] = value.permute(*self.order) if isinstance(value, torch.Tensor) else value.transpose(
                self.order)
        return results


@TRANSFORMS.register_module()
class ToNumpy(BaseTransform):
    """Convert values under ``keys`` to numpy arrays (of ``dtype`` when given)."""

    def __init__(self, keys: Sequence[str], dtype: Any = None):
        self.keys = key_tuple(self, keys)
        self.dtype = dtype

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            value = results[key]
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            results[key] = np.asarray(value, dtype=self.dtype)
        return results
