"""Squeeze-and-Excitation block with MMPretrain's layout (``conv1``, ``conv2`` ConvModules)."""

from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn

from loomcv.registry import MODELS
from loomcv.validation import check_positive

from ..base_module import BaseModule
from .conv_module import ConvModule


def make_divisible(value: float, divisor: int, min_value: Optional[int] = None,
                   min_ratio: float = 0.9) -> int:
    """Round ``value`` to a multiple of ``divisor``, never dropping below ``min_ratio * value``."""
    min_value = divisor if min_value is None else min_value
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < min_ratio * value:
        new_value += divisor
    return new_value


@MODELS.register_module()
class SELayer(BaseModule):
    """Global pool -> 1x1 conv squeeze -> act -> 1x1 conv excite -> gate, scaling the input.

    ``squeeze_channels`` defaults to ``make_divisible(channels // ratio, divisor)``;
    ``act_cfg`` is a pair (after squeeze, after excite).
    """

    def __init__(self, channels: int, squeeze_channels: Optional[int] = None, ratio: int = 16,
                 divisor: int = 8, bias: Union[bool, str] = "auto", conv_cfg: Optional[Dict] = None,
                 act_cfg: Sequence[Dict] = (dict(type="ReLU"), dict(type="Sigmoid")),
                 return_weight: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        if len(act_cfg) != 2:
            raise ValueError(f"SELayer act_cfg must be a pair of dicts, got {act_cfg!r}")
        if squeeze_channels is None:
            squeeze_channels = make_divisible(channels // ratio, divisor)
        check_positive(self, "squeeze_channels", squeeze_channels, integer=True)
        self.return_weight = return_weight
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, squeeze_channels, 1, bias=bias, conv_cfg=conv_cfg,
                                act_cfg=act_cfg[0])
        self.conv2 = ConvModule(squeeze_channels, channels, 1, bias=bias, conv_cfg=conv_cfg,
                                act_cfg=act_cfg[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.conv2(self.conv1(self.global_avgpool(x)))
        return weight if self.return_weight else x * weight
