"""MobileNetV3 (Howard et al., 2019): inverted residuals with optional squeeze-excite
and hard-swish, in the 'small' and 'large' layouts.

Module names follow MMPretrain 1.x (``layer0`` stem, ``layer1``..``layerN`` blocks
with ``expand_conv``/``depthwise_conv``/``se``/``linear_conv``, a final 1x1 conv)
so its checkpoints load unchanged.
"""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, DropPath, SELayer, activation_checkpoint
from loomcv.validation import check_choice

from .base_backbone import BaseBackbone


class InvertedResidual(BaseModule):
    """Optional 1x1 expansion (when ``mid_channels`` differs from the input), depthwise
    kxk, optional SELayer (``se_cfg``), 1x1 linear projection; identity shortcut when
    stride is 1 and widths match."""

    def __init__(self, in_channels, out_channels, mid_channels, kernel_size=3, stride=1, se_cfg=None,
                 conv_cfg=None, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), drop_path_rate=0.0,
                 with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride!r}")
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_expand_conv = mid_channels != in_channels
        self.with_se, self.with_cp = se_cfg is not None, with_cp
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if self.with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, act_cfg=act_cfg, **common)
        self.depthwise_conv = ConvModule(mid_channels, mid_channels, kernel_size, stride=stride,
                                         padding=kernel_size // 2, groups=mid_channels, act_cfg=act_cfg,
                                         **common)
        if self.with_se:
            self.se = SELayer(**se_cfg)
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, act_cfg=None, **common)

    def forward(self, x):
        def inner(x):
            out = self.expand_conv(x) if self.with_expand_conv else x
            out = self.depthwise_conv(out)
            if self.with_se:
                out = self.se(out)
            out = self.linear_conv(out)
            return x + self.drop_path(out) if self.with_res_shortcut else out

        return activation_checkpoint(inner, x, enabled=self.with_cp)


@MODELS.register_module()
class MobileNetV3(BaseBackbone):
    """MobileNetV3.

    Args:
        arch: 'small' or 'large'.
        out_indices: 0 is the stem, 1..N the blocks, N+1 the final 1x1 conv
            (the default: 12 for small, 16 for large).
        frozen_stages: freeze ``layer0``..``layer{n}``; -1 freezes nothing.
        norm_cfg: BN with eps 1e-3 and momentum 0.01 by default, as in the paper.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
    """

    # kernel size, mid channels, out channels, with SE, activation, stride
    arch_settings = {
        "small": [[3, 16, 16, True, "ReLU", 2], [3, 72, 24, False, "ReLU", 2],
                  [3, 88, 24, False, "ReLU", 1], [5, 96, 40, True, "HSwish", 2],
                  [5, 240, 40, True, "HSwish", 1], [5, 240, 40, True, "HSwish", 1],
                  [5, 120, 48, True, "HSwish", 1], [5, 144, 48, True, "HSwish", 1],
                  [5, 288, 96, True, "HSwish", 2], [5, 576, 96, True, "HSwish", 1],
                  [5, 576, 96, True, "HSwish", 1]],
        "large": [[3, 16, 16, False, "ReLU", 1], [3, 64, 24, False, "ReLU", 2],
                  [3, 72, 24, False, "ReLU", 1], [5, 72, 40, True, "ReLU", 2],
                  [5, 120, 40, True, "ReLU", 1], [5, 120, 40, True, "ReLU", 1],
                  [3, 240, 80, False, "HSwish", 2], [3, 200, 80, False, "HSwish", 1],
                  [3, 184, 80, False, "HSwish", 1], [3, 184, 80, False, "HSwish", 1],
                  [3, 480, 112, True, "HSwish", 1], [3, 672, 112, True, "HSwish", 1],
                  [5, 672, 160, True, "HSwish", 2], [5, 960, 160, True, "HSwish", 1],
                  [5, 960, 160, True, "HSwish", 1]],
    }
    last_channels = {"small": 576, "large": 960}

    def __init__(self, arch="small", conv_cfg=None, norm_cfg=dict(type="BN", eps=0.001, momentum=0.01),
                 out_indices=None, frozen_stages=-1, norm_eval=False, with_cp=False,
                 init_cfg=(dict(type="Kaiming", layer=["Conv2d"], nonlinearity="leaky_relu"),
                           dict(type="Normal", layer=["Linear"], std=0.01),
                           dict(type="Constant", layer=["BatchNorm2d"], val=1))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        check_choice(self, "arch", arch, sorted(self.arch_settings))
        settings = self.arch_settings[arch]
        num_outs = len(settings) + 2
        if out_indices is None:
            out_indices = (num_outs - 1,)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        for index in out_indices:
            if index not in range(num_outs):
                raise ValueError(f"MobileNetV3 {arch}: out_indices must be in range(0, {num_outs}), "
                                 f"got {index!r}")
        if frozen_stages not in range(-1, num_outs):
            raise ValueError(f"MobileNetV3 {arch}: frozen_stages must be in range(-1, {num_outs}), "
                             f"got {frozen_stages!r}")
        self.arch, self.out_indices, self.frozen_stages = arch, out_indices, frozen_stages
        self.norm_eval, self.with_cp = norm_eval, with_cp
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        in_channels = 16
        self.layer0 = ConvModule(3, in_channels, 3, stride=2, padding=1, act_cfg=dict(type="HSwish"),
                                 **common)
        for i, (kernel_size, mid, out, with_se, act, stride) in enumerate(settings):
            se_cfg = dict(channels=mid, ratio=4, act_cfg=(
                dict(type="ReLU"), dict(type="HSigmoid", bias=3, divisor=6, min_value=0, max_value=1))
            ) if with_se else None
            self.add_module(f"layer{i + 1}", InvertedResidual(
                in_channels, out, mid, kernel_size=kernel_size, stride=stride, se_cfg=se_cfg,
                act_cfg=dict(type=act), with_cp=with_cp, **common))
            in_channels = out
        self.add_module(f"layer{len(settings) + 1}", ConvModule(
            in_channels, self.last_channels[arch], 1, act_cfg=dict(type="HSwish"), **common))
        self.layers = [f"layer{i}" for i in range(num_outs)]
        self.feat_dim = self.last_channels[arch]
        self._freeze_stages()

    def forward(self, x):
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return [getattr(self, f"layer{i}") for i in range(self.frozen_stages + 1)]

