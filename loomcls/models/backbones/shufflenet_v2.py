"""ShuffleNetV2 (Ma et al., 2018): channel split, two cheap branches, channel shuffle.

Module names follow MMPretrain 1.x (``conv1``, ``layers.0``..``layers.3``, each
block's ``branch1``/``branch2`` Sequentials) so its checkpoints load unchanged.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.modules.batchnorm import _BatchNorm

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, activation_checkpoint
from loomcv.model.weight_init import constant_init, normal_init
from loomcv.validation import check_choice

from .base_backbone import BaseBackbone


class InvertedResidual(BaseModule):
    """Stride 1: split channels in half, transform one half (1x1, 3x3 depthwise, 1x1).
    Stride 2: both branches see the whole input and each halves the output.
    The halves are concatenated and shuffled."""

    def __init__(self, in_channels, out_channels, stride=1, conv_cfg=None, norm_cfg=dict(type="BN"),
                 act_cfg=dict(type="ReLU"), with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        branch = out_channels // 2
        if stride == 1 and in_channels != branch * 2:
            raise ValueError(f"ShuffleNetV2 InvertedResidual: with stride 1, in_channels ({in_channels}) "
                             f"must equal out_channels ({out_channels})")
        self.stride, self.with_cp = stride, with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if stride > 1:
            self.branch1 = nn.Sequential(
                ConvModule(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels,
                           act_cfg=None, **common),
                ConvModule(in_channels, branch, 1, act_cfg=act_cfg, **common))
        self.branch2 = nn.Sequential(
            ConvModule(in_channels if stride > 1 else branch, branch, 1, act_cfg=act_cfg, **common),
            ConvModule(branch, branch, 3, stride=stride, padding=1, groups=branch, act_cfg=None, **common),
            ConvModule(branch, branch, 1, act_cfg=act_cfg, **common))

    def forward(self, x):
        def inner(x):
            if self.stride > 1:
                out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
            else:
                kept, changed = x.chunk(2, dim=1)
                out = torch.cat((kept, self.branch2(changed)), dim=1)
            return F.channel_shuffle(out, 2)

        return activation_checkpoint(inner, x, enabled=self.with_cp)


class ShuffleNetLayout(BaseBackbone):
    """What both ShuffleNets share: a ``conv1`` + max-pool stem, then ``layers``
    (outputs picked by ``out_indices``, the stem and ``layers[:frozen_stages]``
    frozen), and MMPretrain's default initialization."""

    def init_weights(self):
        super().init_weights()
        cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg or {}]
        if any(c.get("type") in ("Pretrained", "PretrainedInit") for c in cfgs):
            return
        for name, module in self.named_modules():
            if isinstance(module, nn.Conv2d):  # the stem small, the rest scaled by fan-in channels
                normal_init(module, mean=0, std=0.01 if "conv1" in name else 1.0 / module.weight.shape[1])
            elif isinstance(module, (_BatchNorm, nn.GroupNorm)):
                constant_init(module, 1, bias=0.0001)
                if isinstance(module, _BatchNorm) and module.running_mean is not None:
                    nn.init.zeros_(module.running_mean)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        frozen = [self.conv1] if self.frozen_stages >= 0 else []
        return frozen + list(self.layers[:max(self.frozen_stages, 0)])

    def _set_stage_args(self, out_indices, frozen_stages, norm_eval, num_outs, max_frozen):
        """Check and store ``out_indices`` (in range(num_outs)) and ``frozen_stages`` (-1..max_frozen)."""
        name = type(self).__name__
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        for index in out_indices:
            if index not in range(num_outs):
                raise ValueError(f"{name}: out_indices must be in range(0, {num_outs}), got {index!r}")
        if frozen_stages not in range(-1, max_frozen + 1):
            raise ValueError(f"{name}: frozen_stages must be in range(-1, {max_frozen + 1}), "
                             f"got {frozen_stages!r}")
        self.out_indices, self.frozen_stages, self.norm_eval = out_indices, frozen_stages, norm_eval


@MODELS.register_module()
class ShuffleNetV2(ShuffleNetLayout):
    """ShuffleNetV2.

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0 (fixed channel tables).
        out_indices: 0..2 are the three stages, 3 the final 1x1 conv.
        frozen_stages: -1 freezes nothing, 0 freezes ``conv1``, n also freezes
            the first n entries of ``layers``.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
    """

    channel_table = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
                     1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}
    stage_blocks = (4, 8, 4)

    def __init__(self, widen_factor=1.0, out_indices=(3,), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), norm_eval=False, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_choice(self, "widen_factor", widen_factor, sorted(self.channel_table))
        num_outs = len(self.stage_blocks) + 1
        self._set_stage_args(out_indices, frozen_stages, norm_eval, num_outs, max_frozen=num_outs - 1)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        channels = self.channel_table[widen_factor]

        in_channels = 24
        self.conv1 = ConvModule(3, in_channels, 3, stride=2, padding=1, **common)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList()
        for out_channels, num_blocks in zip(channels, self.stage_blocks):
            blocks = []
            for j in range(num_blocks):
                blocks.append(InvertedResidual(in_channels, out_channels, 2 if j == 0 else 1,
                                               with_cp=with_cp, **common))
                in_channels = out_channels
            self.layers.append(nn.Sequential(*blocks))
        self.layers.append(ConvModule(in_channels, channels[-1], 1, **common))
        self._freeze_stages()
