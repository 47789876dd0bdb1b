"""Data preprocessors: turn a collated batch into model inputs on the model's device.

``BaseDataPreprocessor`` moves tensors to the device; ``ImgDataPreprocessor``
also stacks CHW images (padding to a common, divisor-aligned size), swaps
BGR/RGB and normalizes in float. Images of equal size are stacked as uint8
first and converted once, on the device, as a batch. Images of different
sizes (a detection batch) are padded at the bottom/right, and each data sample
records ``batch_input_shape`` (the padded batch's (h, w)) and ``pad_shape``
(its own image padded to the divisor), which detection heads use to tell
real pixels from padding.
"""

import math
from typing import Any, List, Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.registry import MODELS


@MODELS.register_module()
class BaseDataPreprocessor(nn.Module):
    """Move every tensor of a batch to the device this module was moved to."""

    def __init__(self, non_blocking: bool = False):
        super().__init__()
        self._non_blocking = non_blocking
        self._device = torch.device("cpu")

    @property
    def device(self) -> torch.device:
        return self._device

    def _apply(self, fn, recurse: bool = True):
        # .to()/.cuda()/.cpu() all pass through _apply: follow them with a probe tensor.
        self._device = fn(torch.empty(0, device=self._device)).device
        return super()._apply(fn, recurse)

    def cast_data(self, data: Any) -> Any:
        """Move tensors (and data elements) nested in dicts/lists/tuples to ``self.device``."""
        if isinstance(data, torch.Tensor):
            return data.to(self._device, non_blocking=self._non_blocking)
        if isinstance(data, Mapping):
            return {k: self.cast_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)) and not isinstance(data, str):
            if hasattr(data, "_fields"):  # namedtuple
                return type(data)(*(self.cast_data(v) for v in data))
            return type(data)(self.cast_data(v) for v in data)
        if hasattr(data, "to") and self._device.type != "cpu":  # data samples
            return data.to(self._device)
        return data

    def forward(self, data: Any, training: bool = False) -> Any:
        return self.cast_data(data)


@MODELS.register_module()
class ImgDataPreprocessor(BaseDataPreprocessor):
    """Stack, pad to ``pad_size_divisor`` (with ``pad_value``), convert BGR<->RGB and normalize images.

    ``mean``/``std`` (per channel, in the input's 0-255 scale) must be given
    together or not at all. Data samples get ``batch_input_shape`` and
    ``pad_shape`` in their metainfo (MMDetection's DetDataPreprocessor does the same).
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 pad_size_divisor: int = 1, pad_value: Union[float, int] = 0,
                 bgr_to_rgb: bool = False, rgb_to_bgr: bool = False, non_blocking: bool = False):
        super().__init__(non_blocking)
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError("ImgDataPreprocessor: bgr_to_rgb and rgb_to_bgr cannot both be True")
        if (mean is None) != (std is None):
            raise ValueError("ImgDataPreprocessor: give both mean and std, or neither")
        if not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
            raise ValueError(f"ImgDataPreprocessor: pad_size_divisor must be an int >= 1, "
                             f"got {pad_size_divisor!r}")
        self._enable_normalize = mean is not None
        if self._enable_normalize:
            if len(mean) not in (1, 3) or len(std) not in (1, 3):
                raise ValueError(f"ImgDataPreprocessor: mean and std need 1 or 3 values, got "
                                 f"mean={list(mean)}, std={list(std)}")
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1), False)
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1), False)
        self._channel_conversion = bgr_to_rgb or rgb_to_bgr
        self.pad_size_divisor, self.pad_value = pad_size_divisor, pad_value

    def _convert(self, batch: torch.Tensor) -> torch.Tensor:
        """Channel swap, float, normalize an NCHW (or CHW) tensor already on the device."""
        if self._channel_conversion and batch.shape[-3] == 3:
            batch = batch.flip(-3)
        batch = batch.float()
        if self._enable_normalize:
            if self.mean.shape[0] == 3 and batch.shape[-3] != 3:
                raise ValueError(f"ImgDataPreprocessor: 3-channel mean/std but the images have "
                                 f"{batch.shape[-3]} channels (shape {tuple(batch.shape)})")
            batch = (batch - self.mean) / self.std
        return batch

    def _pad_to_divisor(self, batch: torch.Tensor) -> torch.Tensor:
        h, w = batch.shape[-2:]
        d = self.pad_size_divisor
        pad_h, pad_w = math.ceil(h / d) * d - h, math.ceil(w / d) * d - w
        if pad_h or pad_w:
            batch = F.pad(batch, (0, pad_w, 0, pad_h), value=self.pad_value)
        return batch

    def _stack(self, images: List[torch.Tensor]) -> torch.Tensor:
        for i, img in enumerate(images):
            if not isinstance(img, torch.Tensor) or img.dim() != 3:
                raise TypeError(f"ImgDataPreprocessor: inputs[{i}] must be a CHW tensor, got "
                                f"{type(img).__name__}{tuple(getattr(img, 'shape', ()))}")
        if all(img.shape == images[0].shape for img in images):
            return self._pad_to_divisor(self._convert(
                torch.stack(images).to(self._device, non_blocking=self._non_blocking)))
        d = self.pad_size_divisor
        h = math.ceil(max(img.shape[1] for img in images) / d) * d
        w = math.ceil(max(img.shape[2] for img in images) / d) * d
        padded = [F.pad(self._convert(img.to(self._device, non_blocking=self._non_blocking)),
                        (0, w - img.shape[2], 0, h - img.shape[1]), value=self.pad_value)
                  for img in images]
        return torch.stack(padded)

    def forward(self, data: Mapping, training: bool = False) -> dict:
        if not isinstance(data, Mapping) or "inputs" not in data:
            raise TypeError(f"ImgDataPreprocessor expects a dict with 'inputs' (and 'data_samples'), "
                            f"got {type(data).__name__}")
        inputs = data["inputs"]
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ValueError(f"ImgDataPreprocessor: a batched input must be NCHW, got shape "
                                 f"{tuple(inputs.shape)}")
            batch = self._pad_to_divisor(self._convert(
                inputs.to(self._device, non_blocking=self._non_blocking)))
        elif isinstance(inputs, (list, tuple)):
            batch = self._stack(list(inputs))
        else:
            raise TypeError(f"ImgDataPreprocessor: inputs must be a list of CHW tensors or an "
                            f"NCHW tensor, got {type(inputs).__name__}")
        out = dict(data)
        out["inputs"] = batch
        out["data_samples"] = self.cast_data(data.get("data_samples"))
        self._record_shapes(out["data_samples"], inputs, tuple(batch.shape[-2:]))
        return out

    def _record_shapes(self, samples: Any, inputs: Any, batch_hw: tuple) -> None:
        if not isinstance(samples, (list, tuple)):
            return
        d = self.pad_size_divisor
        if isinstance(inputs, torch.Tensor):
            pad_shapes = [batch_hw] * len(samples)
        else:
            pad_shapes = [(math.ceil(img.shape[-2] / d) * d, math.ceil(img.shape[-1] / d) * d) for img in inputs]
        for sample, pad_shape in zip(samples, pad_shapes):
            if hasattr(sample, "set_metainfo"):
                sample.set_metainfo(dict(batch_input_shape=batch_hw, pad_shape=pad_shape))


def stack_batch(tensor_list: List[torch.Tensor], pad_size_divisor: int = 1,
                pad_value: Union[int, float] = 0) -> torch.Tensor:
    """Stack tensors of one rank and different sizes into one batch: every dimension but the
    first (channels) is padded at its end with ``pad_value`` to the largest size, rounded up to
    a multiple of ``pad_size_divisor`` (MMEngine's ``stack_batch``)."""
    if not isinstance(tensor_list, list) or not tensor_list:
        raise TypeError(f"stack_batch takes a non-empty list of tensors, got {type(tensor_list).__name__}")
    ranks = {t.dim() for t in tensor_list}
    if len(ranks) != 1:
        raise ValueError(f"stack_batch: the tensors must have one number of dimensions, got {sorted(ranks)}")
    if not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
        raise ValueError(f"stack_batch: pad_size_divisor must be an int >= 1, got {pad_size_divisor!r}")
    dims = tensor_list[0].dim()
    target = [max(t.shape[d] for t in tensor_list) for d in range(dims)]
    target[1:] = [math.ceil(s / pad_size_divisor) * pad_size_divisor for s in target[1:]]
    padded = []
    for t in tensor_list:
        pad = []
        for d in range(dims - 1, 0, -1):  # F.pad wants the last dimension first
            pad += [0, target[d] - t.shape[d]]
        padded.append(F.pad(t, pad, value=pad_value) if any(pad) else t)
    return torch.stack(padded)
