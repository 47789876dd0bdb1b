"""Formatting: PackInputs (the MMPretrain 1.x last step) and the MMCV 1.x-era tensor transforms."""

import numbers
from typing import Any, Dict, Sequence, Tuple

import numpy as np
import torch

from loomcv.registry import TRANSFORMS
from loomcv.structures import DataSample
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


def _keys(owner, keys) -> Tuple[str, ...]:
    keys = (keys,) if isinstance(keys, str) else tuple(keys)
    check(all(isinstance(k, str) for k in keys), owner, f"keys must be strings, got {keys!r}")
    return keys


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack a results dict into ``{'inputs': CHW tensor, 'data_samples': DataSample}``.

    ``gt_label``/``gt_score`` become the sample's labels, ``algorithm_keys`` its
    data fields and the present ``meta_keys`` its metainfo.
    """

    DEFAULT_META_KEYS = ("sample_idx", "img_path", "ori_shape", "img_shape", "scale_factor", "flip",
                         "flip_direction")

    def __init__(self, input_key: str = "img", algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        check(isinstance(input_key, str), self, f"input_key must be a str, got {input_key!r}")
        self.input_key = input_key
        self.algorithm_keys = _keys(self, algorithm_keys)
        self.meta_keys = _keys(self, meta_keys)

    @staticmethod
    def format_input(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [PackInputs.format_input(v) for v in value]
        return image_to_chw(value)

    def transform(self, results: Dict) -> Dict:
        packed = {}
        if self.input_key in results:
            packed["inputs"] = self.format_input(results[self.input_key])
        sample = DataSample()
        if "gt_label" in results:
            sample.set_gt_label(results["gt_label"])
        if "gt_score" in results:
            sample.set_gt_score(results["gt_score"])
        for key in self.algorithm_keys:
            if key in results:
                sample.set_field(results[key], key)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if meta:
            sample.set_metainfo(meta)
        packed["data_samples"] = sample
        return packed


@TRANSFORMS.register_module()
class ToTensor(BaseTransform):
    """Convert ``results[key]`` to a tensor for each of ``keys`` (MMCV 1.x)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = _keys(self, keys)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            results[key] = to_tensor(results[key])
        return results


@TRANSFORMS.register_module()
class ImageToTensor(BaseTransform):
    """Convert HxWxC images under ``keys`` to CxHxW tensors (MMCV 1.x)."""

    def __init__(self, keys: Sequence[str]):
        self.keys = _keys(self, keys)

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            results[key] = image_to_chw(results[key])
        return results


@TRANSFORMS.register_module()
class Transpose(BaseTransform):
    """Transpose arrays (or tensors) under ``keys`` by ``order``."""

    def __init__(self, keys: Sequence[str], order: Sequence[int]):
        self.keys = _keys(self, keys)
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
        self.keys = _keys(self, keys)
        self.dtype = dtype

    def transform(self, results: Dict) -> Dict:
        for key in self.keys:
            value = results[key]
            if isinstance(value, torch.Tensor):
                value = value.detach().cpu().numpy()
            results[key] = np.asarray(value, dtype=self.dtype)
        return results


@TRANSFORMS.register_module()
class Collect(BaseTransform):
    """Keep only ``keys`` of the results (MMCV 1.x); with ``meta_keys`` also an ``img_metas`` dict."""

    def __init__(self, keys: Sequence[str], meta_keys: Sequence[str] = ()):
        self.keys = _keys(self, keys)
        self.meta_keys = _keys(self, meta_keys)

    def transform(self, results: Dict) -> Dict:
        missing = [k for k in self.keys if k not in results]
        if missing:
            raise KeyError(f"Collect: keys {missing} are not in the results (keys: {list(results)})")
        out = {k: results[k] for k in self.keys}
        if self.meta_keys:
            out["img_metas"] = {k: results[k] for k in self.meta_keys if k in results}
        return out
