"""MobileNetV2 (Sandler et al., 2018): inverted residual blocks with linear bottlenecks.

Module names follow MMPretrain 1.x (``conv1``, ``layer1``..``layer7``, ``conv2``,
each block's ``conv`` Sequential) so its checkpoints load unchanged.
"""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, activation_checkpoint, make_divisible

from .base_backbone import BaseBackbone


class InvertedResidual(BaseModule):
    """1x1 expansion (skipped when ``expand_ratio`` is 1), 3x3 depthwise, 1x1 linear
    projection; an identity shortcut when stride is 1 and widths match."""

    def __init__(self, in_channels, out_channels, stride, expand_ratio, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU6"), with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride!r}")
        self.stride, self.with_cp = stride, with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden_dim = int(round(in_channels * expand_ratio))
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden_dim, 1, act_cfg=act_cfg, **common))
        layers += [
            ConvModule(hidden_dim, hidden_dim, 3, stride=stride, padding=1, groups=hidden_dim,
                       act_cfg=act_cfg, **common),
            ConvModule(hidden_dim, out_channels, 1, act_cfg=None, **common),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        def inner(x):
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

        return activation_checkpoint(inner, x, enabled=self.with_cp)


@MODELS.register_module()
class MobileNetV2(BaseBackbone):
    """MobileNetV2.

    Args:
        widen_factor: width multiplier; channels are rounded to multiples of 8.
        out_indices: 0..6 are the seven stages, 7 the final 1x1 conv (``conv2``).
        frozen_stages: freeze ``conv1`` (0) and stages 1..n; -1 freezes nothing.
        conv_cfg / norm_cfg / act_cfg: layer configs (ReLU6 by default).
        norm_eval: keep BN layers in eval mode while training.
        with_cp: activation checkpointing in the blocks.
    """

    # expand ratio, channels, number of blocks, stride of the first block
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                     [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, widen_factor=1.0, out_indices=(7,), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU6"), norm_eval=False, with_cp=False,
                 init_cfg=(dict(type="Kaiming", layer=["Conv2d"]),
                           dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        num_outs = len(self.arch_settings) + 1
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        for index in out_indices:
            if index not in range(num_outs):
                raise ValueError(f"MobileNetV2: out_indices must be in range(0, {num_outs}), got {index!r}")
        if frozen_stages not in range(-1, num_outs):
            raise ValueError(f"MobileNetV2: frozen_stages must be in range(-1, {num_outs}), "
                             f"got {frozen_stages!r}")
        self.widen_factor, self.out_indices, self.frozen_stages = widen_factor, out_indices, frozen_stages
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

        in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(3, in_channels, 3, stride=2, padding=1, **common)
        self.layers = []
        for i, (expand_ratio, channels, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channels * widen_factor, 8)
            blocks = []
            for j in range(num_blocks):
                blocks.append(InvertedResidual(in_channels, out_channels, stride if j == 0 else 1,
                                               expand_ratio, with_cp=with_cp, **common))
                in_channels = out_channels
            self.add_module(f"layer{i + 1}", nn.Sequential(*blocks))
            self.layers.append(f"layer{i + 1}")
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(in_channels, self.out_channel, 1, **common)
        self.layers.append("conv2")
        self._freeze_stages()

    def forward(self, x):
        x = self.conv1(x)
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        frozen = [self.conv1] if self.frozen_stages >= 0 else []
        return frozen + [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]

