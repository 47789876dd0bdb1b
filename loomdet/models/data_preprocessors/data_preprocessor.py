"""DetDataPreprocessor: stack differently sized images into one padded batch and record the padding."""

import math
from typing import List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from loomcv.model import ImgDataPreprocessor
from loomdet.registry import MODELS


@MODELS.register_module()
class DetDataPreprocessor(ImgDataPreprocessor):
    """Move to the device, BGR->RGB, normalize, pad every image to the batch's largest size rounded up
    to ``pad_size_divisor``; then tell each data sample the batch shape and its own padded shape.

    Each sample's metainfo gets ``batch_input_shape`` (the ``(h, w)`` of the stacked
    batch) and ``pad_shape`` (its own size rounded up to ``pad_size_divisor``), which
    dense heads use to ignore priors lying on padding.

    Args:
        mean / std: per channel, 0-255 scale; both or neither.
        pad_size_divisor: the padded height and width are multiples of it.
        pad_value: value of the padded pixels (after normalization).
        pad_mask / mask_pad_value / pad_seg / seg_pad_value: padding of
            instance masks and semantic maps; loomdet's detectors use neither,
            so only ``False`` is accepted.
        bgr_to_rgb / rgb_to_bgr: swap channels first.
        boxtype2tensor: MMDetection turns box-list objects into tensors here;
            loomdet's boxes are tensors already.
        non_blocking: asynchronous host-to-device copies.
        batch_augments: configs of batch transforms applied in training,
            each called as ``aug(inputs, data_samples) -> (inputs, data_samples)``.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 pad_size_divisor: int = 1, pad_value: Union[float, int] = 0, pad_mask: bool = False,
                 mask_pad_value: int = 0, pad_seg: bool = False, seg_pad_value: int = 255, bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False, boxtype2tensor: bool = True, non_blocking: bool = False,
                 batch_augments: Optional[List[dict]] = None) -> None:
        if pad_mask or pad_seg:
            raise ValueError(f"DetDataPreprocessor: pad_mask={pad_mask!r}, pad_seg={pad_seg!r}: loomdet's detectors "
                             "take neither instance masks nor semantic maps; leave both False")
        super().__init__(mean=mean, std=std, pad_size_divisor=pad_size_divisor, pad_value=pad_value,
                         bgr_to_rgb=bgr_to_rgb, rgb_to_bgr=rgb_to_bgr, non_blocking=non_blocking)
        self.pad_mask, self.mask_pad_value = pad_mask, mask_pad_value
        self.pad_seg, self.seg_pad_value = pad_seg, seg_pad_value
        self.boxtype2tensor = boxtype2tensor
        if batch_augments is not None:
            if not isinstance(batch_augments, (list, tuple)):
                raise TypeError(f"DetDataPreprocessor: batch_augments must be a list of configs, got "
                                f"{type(batch_augments).__name__}")
            self.batch_augments = nn.ModuleList([MODELS.build(aug) for aug in batch_augments])
        else:
            self.batch_augments = None

    def _get_pad_shape(self, data: Mapping) -> List[Tuple[int, int]]:
        """Each image's ``(h, w)`` rounded up to ``pad_size_divisor``."""
        inputs = data["inputs"]
        d = self.pad_size_divisor
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ValueError(f"DetDataPreprocessor: a batched input must be NCHW, got shape {tuple(inputs.shape)}")
            shape = (math.ceil(inputs.shape[2] / d) * d, math.ceil(inputs.shape[3] / d) * d)
            return [shape] * inputs.shape[0]
        if isinstance(inputs, (list, tuple)) and all(isinstance(img, torch.Tensor) for img in inputs):
            return [(math.ceil(img.shape[-2] / d) * d, math.ceil(img.shape[-1] / d) * d) for img in inputs]
        raise TypeError(f"DetDataPreprocessor: inputs must be a list of CHW tensors or an NCHW tensor, got "
                        f"{type(inputs).__name__}")

    def forward(self, data: Mapping, training: bool = False) -> dict:
        if not isinstance(data, Mapping) or "inputs" not in data:
            raise TypeError(f"DetDataPreprocessor expects a dict with 'inputs' and 'data_samples', got "
                            f"{type(data).__name__}")
        batch_pad_shape = self._get_pad_shape(data)
        data = super().forward(data, training)
        inputs, data_samples = data["inputs"], data.get("data_samples")
        if data_samples is not None:
            if len(data_samples) != inputs.shape[0]:
                raise ValueError(f"DetDataPreprocessor: {len(data_samples)} data samples for {inputs.shape[0]} "
                                 "images")
            batch_input_shape = tuple(inputs.shape[-2:])
            for sample, pad_shape in zip(data_samples, batch_pad_shape):
                sample.set_metainfo({"batch_input_shape": batch_input_shape, "pad_shape": pad_shape})
        if training and self.batch_augments is not None:
            for batch_aug in self.batch_augments:
                inputs, data_samples = batch_aug(inputs, data_samples)
        return {"inputs": inputs, "data_samples": data_samples}
