"""ResNet (He et al., 2016) and its variants, with MMPretrain's parameter names
(conv1/bn1, layer1..4, downsample.0/1) so its checkpoints load unchanged."""

import torch.nn as nn
import torch.utils.checkpoint as cp

from loomcls.registry import MODELS
from loomcv.model import BaseModule, Sequential
from loomcv.model.bricks import ConvModule, DropPath, build_conv_layer, build_norm_layer
from loomcv.model.weight_init import constant_init
from .base_backbone import BaseBackbone


def _run(block, inner, x):
    """Run ``inner(x)``, with activation checkpointing if the block asks for it."""
    if block.with_cp and x.requires_grad:
        return cp.checkpoint(inner, x, use_reentrant=False)
    return inner(x)


class BasicBlock(BaseModule):
    """Two 3x3 convolutions and a shortcut."""

    expansion = 1

    def __init__(self, in_channels, out_channels, expansion=1, stride=1, dilation=1, downsample=None,
                 style="pytorch", with_cp=False, conv_cfg=None, norm_cfg=dict(type="BN"),
                 drop_path_rate=0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if expansion != 1:
            raise ValueError(f"BasicBlock: expansion must be 1, got {expansion}")
        self.in_channels, self.out_channels, self.expansion = in_channels, out_channels, expansion
        self.mid_channels = out_channels // expansion
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, out_channels, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 3, stride=stride,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def forward(self, x):
        def inner(x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.norm2(self.conv2(out))
            return self.drop_path(out) + identity

        return self.relu(_run(self, inner, x))


class Bottleneck(BaseModule):
    """1x1 reduce, 3x3, 1x1 expand, and a shortcut. The 3x3 conv carries the
    stride in 'pytorch' style, the first 1x1 in 'caffe' style."""

    expansion = 4

    def __init__(self, in_channels, out_channels, expansion=4, stride=1, dilation=1, downsample=None,
                 style="pytorch", with_cp=False, conv_cfg=None, norm_cfg=dict(type="BN"),
                 drop_path_rate=0.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"Bottleneck: style must be 'pytorch' or 'caffe', got {style!r}")
        self.in_channels, self.out_channels, self.expansion = in_channels, out_channels, expansion
        if out_channels % expansion:
            raise ValueError(f"Bottleneck: out_channels {out_channels} is not divisible by expansion {expansion}")
        self.mid_channels = out_channels // expansion
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        stride1, stride2 = (1, stride) if style == "pytorch" else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, self.mid_channels, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, self.mid_channels, 1, stride=stride1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, self.mid_channels, 3, stride=stride2,
                                      padding=dilation, dilation=dilation, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    @property
    def norm3(self):
        return getattr(self, self.norm3_name)

    def forward(self, x):
        def inner(x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.norm1(self.conv1(x)))
            out = self.relu(self.norm2(self.conv2(out)))
            out = self.norm3(self.conv3(out))
            return self.drop_path(out) + identity

        return self.relu(_run(self, inner, x))


class ResLayer(Sequential):
    """One stage: ``num_blocks`` blocks, the first one changing stride/channels.

    ``avg_down`` downsamples the shortcut with average pooling then a stride-1
    1x1 conv (ResNet-D) instead of a strided 1x1 conv.
    """

    def __init__(self, block, num_blocks, in_channels, out_channels, expansion=None, stride=1,
                 avg_down=False, conv_cfg=None, norm_cfg=dict(type="BN"), drop_path_rates=None, **kwargs):
        self.block, self.expansion = block, expansion if expansion is not None else block.expansion
        rates = drop_path_rates or [0.0] * num_blocks
        downsample = None
        if stride != 1 or in_channels != out_channels:
            parts = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                parts.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
            parts += [build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=conv_stride, bias=False),
                      build_norm_layer(norm_cfg, out_channels)[1]]
            downsample = nn.Sequential(*parts)
        layers = [block(in_channels, out_channels, expansion=self.expansion, stride=stride,
                        downsample=downsample, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                        drop_path_rate=rates[0], **kwargs)]
        layers += [block(out_channels, out_channels, expansion=self.expansion, stride=1, conv_cfg=conv_cfg,
                         norm_cfg=norm_cfg, drop_path_rate=rates[i], **kwargs) for i in range(1, num_blocks)]
        super().__init__(*layers)


@MODELS.register_module()
class ResNet(BaseBackbone):
    """ResNet.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels / stem_channels / base_channels: input, stem and first-stage widths.
        num_stages: 1 to 4; ``strides``/``dilations`` per stage.
        out_indices: stages whose outputs are returned (tuple, in order).
        style: 'pytorch' (stride on the 3x3 conv) or 'caffe'.
        deep_stem: three 3x3 convs instead of one 7x7 (ResNetV1c).
        avg_down: average-pool shortcuts (ResNetV1d).
        frozen_stages: freeze the stem (0) and stages 1..n; -1 freezes nothing.
        norm_eval: keep BN layers in eval mode while training (frozen statistics).
        with_cp: activation checkpointing (less memory, more compute).
        zero_init_residual: last norm of each block starts at 0, so blocks
            start as identities (not done when loading pretrained weights).
        drop_path_rate: stochastic depth, increasing linearly over the blocks.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth, in_channels=3, stem_channels=64, base_channels=64, expansion=None,
                 num_stages=4, strides=(1, 2, 2, 2), dilations=(1, 1, 1, 1), out_indices=(3,),
                 style="pytorch", deep_stem=False, avg_down=False, frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN", requires_grad=True), norm_eval=False, with_cp=False,
                 zero_init_residual=True,
                 init_cfg=(dict(type="Kaiming", layer=["Conv2d"]),
                           dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])),
                 drop_path_rate=0.0):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        name = type(self).__name__
        if depth not in self.arch_settings:
            raise KeyError(f"{name}: depth must be one of {sorted(self.arch_settings)}, got {depth!r}")
        if not 1 <= num_stages <= 4:
            raise ValueError(f"{name}: num_stages must be 1 to 4, got {num_stages}")
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(f"{name}: strides and dilations need {num_stages} values")
        out_indices = tuple(i + num_stages if i < 0 else i for i in
                            (out_indices if isinstance(out_indices, (list, tuple)) else (out_indices,)))
        if not all(0 <= i < num_stages for i in out_indices):
            raise ValueError(f"{name}: out_indices {out_indices} out of range for {num_stages} stages")
        self.depth, self.stem_channels, self.base_channels = depth, stem_channels, base_channels
        self.num_stages, self.strides, self.dilations = num_stages, strides, dilations
        self.out_indices, self.style, self.deep_stem, self.avg_down = out_indices, style, deep_stem, avg_down
        self.frozen_stages, self.conv_cfg, self.norm_cfg = frozen_stages, conv_cfg, norm_cfg
        self.norm_eval, self.with_cp, self.zero_init_residual = norm_eval, with_cp, zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = expansion if expansion is not None else self.block.expansion

        self._make_stem_layer(in_channels, stem_channels)
        rates = [drop_path_rate * i / max(sum(self.stage_blocks) - 1, 1) for i in range(sum(self.stage_blocks))]
        self.res_layers = []
        in_ch, out_ch = stem_channels, base_channels * self.expansion
        for i, num_blocks in enumerate(self.stage_blocks):
            layer = ResLayer(self.block, num_blocks, in_ch, out_ch, expansion=self.expansion,
                             stride=strides[i], dilation=dilations[i], style=style, avg_down=avg_down,
                             with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                             drop_path_rates=rates[:num_blocks])
            rates = rates[num_blocks:]
            in_ch, out_ch = out_ch, out_ch * 2
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = in_ch
        self._freeze_stages()

    def _make_stem_layer(self, in_channels, stem_channels):
        if self.deep_stem:
            half = stem_channels // 2
            self.stem = nn.Sequential(
                ConvModule(in_channels, half, 3, stride=2, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, half, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True),
                ConvModule(half, stem_channels, 3, stride=1, padding=1, conv_cfg=self.conv_cfg,
                           norm_cfg=self.norm_cfg, inplace=True))
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3,
                                          bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def _stem(self, x):
        x = self.stem(x) if self.deep_stem else self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        stem = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        return stem + [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]

    def init_weights(self):
        super().init_weights()
        pretrained = any(c.get("type") == "Pretrained" for c in
                         (self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg or {}]))
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)

    def forward(self, x):
        x = self._stem(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)



@MODELS.register_module()
class ResNetV1c(ResNet):
    """ResNet with a deep stem (three 3x3 convs)."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=False, **kwargs)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet with a deep stem and average-pooled shortcuts."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
