"""EfficientNetV2 (Tan & Le, 2021): fused-MBConv blocks in the early stages, MBConv
with squeeze-excite later, sizes S/M/L/XL and B0-B3.

Module names follow MMPretrain 1.x (``layers.0`` stem, ``layers.N.M`` blocks, the
final 1x1 conv last), so its converted checkpoints load unchanged.
"""

from typing import Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import ConvModule, DropPath

from ..utils.arch import drop_path_rates
from .base_backbone import BaseBackbone
from .efficientnet import EdgeResidual as FusedMBConv
from .mobilenet_v3 import InvertedResidual as MBConv


class EnhancedConvModule(ConvModule):
    """A ConvModule with an optional identity shortcut (``has_skip``) and drop path."""

    def __init__(self, *args, has_skip: bool = False, drop_path_rate: float = 0., **kwargs):
        super().__init__(*args, **kwargs)
        if has_skip and (self.in_channels != self.out_channels or self.stride != (1, 1)):
            raise ValueError(f"EnhancedConvModule: has_skip needs stride 1 and in_channels == out_channels, got "
                             f"stride {self.stride}, {self.in_channels} -> {self.out_channels} channels")
        self.has_skip = has_skip
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate else nn.Identity()

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        out = super().forward(x, **kwargs)
        return self.drop_path(out) + x if self.has_skip else out


@MODELS.register_module()
class EfficientNetV2(BaseBackbone):
    """EfficientNetV2.

    Args:
        arch: 's'/'small', 'm'/'medium', 'l'/'large', 'xl', 'b0'..'b3'.
        in_channels: input image channels.
        drop_path_rate: stochastic depth, rising linearly over the blocks.
        out_indices: layers to output (negative counts from the end): 0 the
            stem, then one per table row, the final 1x1 conv last (the default -1).
        frozen_stages: freeze ``layers[0:frozen_stages]`` (0: nothing).
        conv_cfg: 'SAME' padding for the stem, the strided blocks and the head.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
    """

    # per layer: repeats, kernel size, stride, expand ratio, in channels, out channels, SE ratio,
    # block type (-2: head ConvModule, -1: EnhancedConvModule, 0: FusedMBConv, 1: MBConv)
    arch_settings = {
        **dict.fromkeys(["small", "s"], [[2, 3, 1, 1, 24, 24, 0.0, -1], [4, 3, 2, 4, 24, 48, 0.0, 0],
                                         [4, 3, 2, 4, 48, 64, 0.0, 0], [6, 3, 2, 4, 64, 128, 0.25, 1],
                                         [9, 3, 1, 6, 128, 160, 0.25, 1], [15, 3, 2, 6, 160, 256, 0.25, 1],
                                         [1, 1, 1, 1, 256, 1280, 0.0, -2]]),
        **dict.fromkeys(["m", "medium"], [[3, 3, 1, 1, 24, 24, 0.0, -1], [5, 3, 2, 4, 24, 48, 0.0, 0],
                                          [5, 3, 2, 4, 48, 80, 0.0, 0], [7, 3, 2, 4, 80, 160, 0.25, 1],
                                          [14, 3, 1, 6, 160, 176, 0.25, 1], [18, 3, 2, 6, 176, 304, 0.25, 1],
                                          [5, 3, 1, 6, 304, 512, 0.25, 1], [1, 1, 1, 1, 512, 1280, 0.0, -2]]),
        **dict.fromkeys(["l", "large"], [[4, 3, 1, 1, 32, 32, 0.0, -1], [7, 3, 2, 4, 32, 64, 0.0, 0],
                                         [7, 3, 2, 4, 64, 96, 0.0, 0], [10, 3, 2, 4, 96, 192, 0.25, 1],
                                         [19, 3, 1, 6, 192, 224, 0.25, 1], [25, 3, 2, 6, 224, 384, 0.25, 1],
                                         [7, 3, 1, 6, 384, 640, 0.25, 1], [1, 1, 1, 1, 640, 1280, 0.0, -2]]),
        "xl": [[4, 3, 1, 1, 32, 32, 0.0, -1], [8, 3, 2, 4, 32, 64, 0.0, 0], [8, 3, 2, 4, 64, 96, 0.0, 0],
               [16, 3, 2, 4, 96, 192, 0.25, 1], [24, 3, 1, 6, 192, 256, 0.25, 1], [32, 3, 2, 6, 256, 512, 0.25, 1],
               [8, 3, 1, 6, 512, 640, 0.25, 1], [1, 1, 1, 1, 640, 1280, 0.0, -2]],
        "b0": [[1, 3, 1, 1, 32, 16, 0.0, -1], [2, 3, 2, 4, 16, 32, 0.0, 0], [2, 3, 2, 4, 32, 48, 0.0, 0],
               [3, 3, 2, 4, 48, 96, 0.25, 1], [5, 3, 1, 6, 96, 112, 0.25, 1], [8, 3, 2, 6, 112, 192, 0.25, 1],
               [1, 1, 1, 1, 192, 1280, 0.0, -2]],
        "b1": [[2, 3, 1, 1, 32, 16, 0.0, -1], [3, 3, 2, 4, 16, 32, 0.0, 0], [3, 3, 2, 4, 32, 48, 0.0, 0],
               [4, 3, 2, 4, 48, 96, 0.25, 1], [6, 3, 1, 6, 96, 112, 0.25, 1], [9, 3, 2, 6, 112, 192, 0.25, 1],
               [1, 1, 1, 1, 192, 1280, 0.0, -2]],
        "b2": [[2, 3, 1, 1, 32, 16, 0.0, -1], [3, 3, 2, 4, 16, 32, 0.0, 0], [3, 3, 2, 4, 32, 56, 0.0, 0],
               [4, 3, 2, 4, 56, 104, 0.25, 1], [6, 3, 1, 6, 104, 120, 0.25, 1], [10, 3, 2, 6, 120, 208, 0.25, 1],
               [1, 1, 1, 1, 208, 1408, 0.0, -2]],
        "b3": [[2, 3, 1, 1, 40, 16, 0.0, -1], [3, 3, 2, 4, 16, 40, 0.0, 0], [3, 3, 2, 4, 40, 56, 0.0, 0],
               [5, 3, 2, 4, 56, 112, 0.25, 1], [7, 3, 1, 6, 112, 136, 0.25, 1], [12, 3, 2, 6, 136, 232, 0.25, 1],
               [1, 1, 1, 1, 232, 1536, 0.0, -2]],
    }

    def __init__(self, arch: str = "s", in_channels: int = 3, drop_path_rate: float = 0.,
                 out_indices: Union[int, Sequence[int]] = (-1,), frozen_stages: int = 0,
                 conv_cfg=dict(type="Conv2dAdaptivePadding"), norm_cfg=dict(type="BN", eps=1e-3, momentum=0.1),
                 act_cfg=dict(type="Swish"), norm_eval: bool = False, with_cp: bool = False,
                 init_cfg=(dict(type="Kaiming", layer="Conv2d"),
                           dict(type="Constant", layer=["_BatchNorm", "GroupNorm"], val=1))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        if arch not in self.arch_settings:
            raise KeyError(f"EfficientNetV2: arch must be one of {list(self.arch_settings)}, got {arch!r}")
        self.arch = self.arch_settings[arch]
        if frozen_stages not in range(len(self.arch) + 1):
            raise ValueError(f"EfficientNetV2: frozen_stages must be in range(0, {len(self.arch) + 1}), "
                             f"got {frozen_stages!r}")
        if self.arch[-1][-1] != -2:
            raise ValueError(f"EfficientNetV2: the last row of an arch table must be the head (block type -2), "
                             f"got {self.arch[-1]}")
        self.drop_path_rate, self.frozen_stages = drop_path_rate, frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp
        self.in_channels, self.out_channels = in_channels, self.arch[-1][5]
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.layers = nn.ModuleList()
        self.make_layers()

        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        num_layers = len(self.layers)
        for i, index in enumerate(out_indices):
            if not -num_layers <= index < num_layers:
                raise ValueError(f"EfficientNetV2: out_indices entry {index} is out of range for {num_layers} "
                                 f"layers (use 0..{num_layers - 1} or -{num_layers}..-1)")
            out_indices[i] = index % num_layers
        self.out_indices = out_indices
        self.layer_channels = [self.arch[0][4]] + [row[5] for row in self.arch]
        self.feat_dim = self.layer_channels[out_indices[-1]] if out_indices else self.out_channels
        self._freeze_stages()

    def make_layers(self):
        """Stem, one layer per table row but the last, then the head conv."""
        common = dict(norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        self.layers.append(ConvModule(self.in_channels, self.arch[0][4], 3, stride=2, conv_cfg=self.conv_cfg,
                                      **common))
        in_channels = self.arch[0][4]
        rows = self.arch[:-1]
        rates = drop_path_rates(self.drop_path_rate, sum(row[0] for row in rows))
        index = 0
        for repeat, kernel_size, first_stride, expand_ratio, _, out_channels, se_ratio, block_type in rows:
            blocks = []
            for i in range(repeat):
                stride = first_stride if i == 0 else 1
                if block_type == -1:
                    has_skip = stride == 1 and in_channels == out_channels
                    blocks.append(EnhancedConvModule(
                        in_channels, out_channels, kernel_size, has_skip=has_skip,
                        drop_path_rate=rates[index] if has_skip else 0., stride=stride, padding=1, conv_cfg=None,
                        **common))
                else:
                    mid_channels = int(in_channels * expand_ratio)
                    se_cfg = None
                    if block_type != 0 and se_ratio > 0:
                        se_cfg = dict(channels=mid_channels, ratio=expand_ratio * (1.0 / se_ratio), divisor=1,
                                      act_cfg=(self.act_cfg, dict(type="Sigmoid")))
                    block = FusedMBConv if block_type == 0 else MBConv
                    blocks.append(block(
                        in_channels=in_channels, out_channels=out_channels, mid_channels=mid_channels,
                        kernel_size=kernel_size, stride=stride, se_cfg=se_cfg,
                        conv_cfg=self.conv_cfg if stride == 2 else None, drop_path_rate=rates[index],
                        with_cp=self.with_cp, **common))
                in_channels = out_channels
                index += 1
            self.layers.append(nn.Sequential(*blocks))
        self.layers.append(ConvModule(in_channels, self.out_channels, self.arch[-1][1], stride=self.arch[-1][2],
                                      conv_cfg=self.conv_cfg, **common))

    def forward(self, x: torch.Tensor):
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return list(self.layers[:self.frozen_stages])
