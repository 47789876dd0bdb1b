"""ResNet (He et al., 2016) and its variants, with MMPretrain's parameter names
(conv1/bn1, layer1..4, downsample.0/1) so its checkpoints load unchanged."""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule, Sequential
from loomcv.model.bricks import (ConvModule, DropPath, activation_checkpoint, build_activation_layer, build_conv_layer,
                                 build_norm_layer)
from loomcv.model.weight_init import constant_init
from loomcv.validation import check_choice, check_positive
from .base_backbone import BaseBackbone


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

        return self.relu(activation_checkpoint(inner, x, enabled=self.with_cp))


class Bottleneck(BaseModule):
    """1x1 reduce, 3x3, 1x1 expand, and a shortcut. The 3x3 conv carries the
    stride in 'pytorch' style, the first 1x1 in 'caffe' style.

    ``groups > 1`` makes it ResNeXt's block: the 3x3 conv is grouped and the
    middle width is ``groups * width_per_group`` scaled by the stage's width
    over ``base_channels``. Subclasses change the middle (:meth:`_make_middle`,
    :meth:`_middle`) or the residual branch (:meth:`residual`).
    """

    expansion = 4

    def __init__(self, in_channels, out_channels, expansion=4, stride=1, dilation=1, downsample=None,
                 style="pytorch", with_cp=False, conv_cfg=None, norm_cfg=dict(type="BN"),
                 drop_path_rate=0.0, groups=1, width_per_group=4, base_channels=64, mid_channels=None,
                 act_cfg=dict(type="ReLU", inplace=True), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"{name}: style must be 'pytorch' or 'caffe', got {style!r}")
        self.in_channels, self.out_channels, self.expansion = in_channels, out_channels, expansion
        if out_channels % expansion:
            raise ValueError(f"{name}: out_channels {out_channels} is not divisible by expansion {expansion}")
        check_positive(name, "groups", groups, integer=True)
        planes = out_channels // expansion
        if mid_channels is None:
            mid_channels = planes
            if groups != 1:
                if planes % base_channels:
                    raise ValueError(f"{name}: stage width {planes} is not a multiple of "
                                     f"base_channels {base_channels}")
                mid_channels = groups * width_per_group * planes // base_channels
        if mid_channels % groups:
            raise ValueError(f"{name}: {mid_channels} middle channels cannot be split into {groups} groups")
        self.mid_channels, self.groups = mid_channels, groups
        self.stride, self.dilation, self.style, self.with_cp = stride, dilation, style, with_cp
        self.conv1_stride, self.conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, mid_channels, postfix=1)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, mid_channels, 1, stride=self.conv1_stride,
                                      bias=False)
        self.add_module(self.norm1_name, norm1)
        self._make_middle(conv_cfg, norm_cfg)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.conv3 = build_conv_layer(conv_cfg, mid_channels, out_channels, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = build_activation_layer(act_cfg)  # CSPResNet uses LeakyReLU
        self.downsample = downsample
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def _make_middle(self, conv_cfg, norm_cfg):
        """The 3x3 conv (``conv2``) and its norm (``bn2``)."""
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, self.mid_channels, postfix=2)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, self.mid_channels, 3,
                                      stride=self.conv2_stride, padding=self.dilation,
                                      dilation=self.dilation, groups=self.groups, bias=False)
        self.add_module(self.norm2_name, norm2)

    def _middle(self, x):
        return self.relu(self.norm2(self.conv2(x)))

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    @property
    def norm3(self):
        return getattr(self, self.norm3_name)

    def residual(self, x):
        """The branch added to the shortcut."""
        out = self._middle(self.relu(self.norm1(self.conv1(x))))
        return self.norm3(self.conv3(out))

    def forward(self, x):
        def inner(x):
            identity = x if self.downsample is None else self.downsample(x)
            return self.drop_path(self.residual(x)) + identity

        return self.relu(activation_checkpoint(inner, x, enabled=self.with_cp))


class ResLayer(Sequential):
    """One stage: ``num_blocks`` blocks, the first one changing stride/channels.

    ``avg_down`` downsamples the shortcut with average pooling then a stride-1
    1x1 conv (ResNet-D) instead of a strided 1x1 conv. Extra keyword arguments
    go to every block; ``first_block_kwargs`` only to the first. With
    ``pool_every_shortcut`` the pooling is there even at stride 1 (Res2Net).
    """

    first_block_kwargs = {}
    pool_every_shortcut = False

    def __init__(self, block, num_blocks, in_channels, out_channels, expansion=None, stride=1,
                 avg_down=False, conv_cfg=None, norm_cfg=dict(type="BN"), drop_path_rates=None, **kwargs):
        self.block, self.expansion = block, expansion if expansion is not None else block.expansion
        rates = drop_path_rates or [0.0] * num_blocks
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = self.make_shortcut(in_channels, out_channels, stride, avg_down, conv_cfg, norm_cfg)
        common = dict(expansion=self.expansion, conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)
        layers = [block(in_channels, out_channels, stride=stride, downsample=downsample,
                        drop_path_rate=rates[0], **self.first_block_kwargs, **common)]
        layers += [block(out_channels, out_channels, stride=1, drop_path_rate=rates[i], **common)
                   for i in range(1, num_blocks)]
        super().__init__(*layers)

    @classmethod
    def make_shortcut(cls, in_channels, out_channels, stride, avg_down, conv_cfg, norm_cfg):
        """The projection on the shortcut of the first block."""
        parts = []
        if avg_down and (stride != 1 or cls.pool_every_shortcut):
            parts.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
        conv_stride = 1 if avg_down else stride
        parts += [build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=conv_stride, bias=False),
                  build_norm_layer(norm_cfg, out_channels)[1]]
        return nn.Sequential(*parts)


def stage_indices(name, indices, num_stages):
    """``out_indices`` as a tuple of stage numbers (negative ones count from the end)."""
    indices = tuple(indices) if isinstance(indices, (list, tuple)) else (indices,)
    normalized = tuple(i + num_stages if isinstance(i, int) and i < 0 else i for i in indices)
    bad = [i for i, n in zip(indices, normalized) if not isinstance(n, int) or not 0 <= n < num_stages]
    if bad:
        raise ValueError(f"{name}: out_indices {bad} out of range; valid stages are 0..{num_stages - 1} "
                         f"(or -{num_stages}..-1)")
    return normalized


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
    # the single-conv stem (``conv1``/``bn1``) and whether a max-pool follows it
    stem_kernel, stem_stride, stem_pool = 7, 2, True

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
        check_choice(self, "depth", depth, sorted(self.arch_settings))
        if not 1 <= num_stages <= 4:
            raise ValueError(f"{name}: num_stages must be 1 to 4, got {num_stages}")
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(f"{name}: strides and dilations need {num_stages} values")
        out_indices = stage_indices(name, out_indices, num_stages)
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
        stages, starts = [], [sum(self.stage_blocks[:i]) for i in range(num_stages)]
        for i, num_blocks in enumerate(self.stage_blocks):
            stages.append(dict(block=self.block, num_blocks=num_blocks, expansion=self.expansion,
                               out_channels=base_channels * self.expansion * 2 ** i, stride=strides[i],
                               dilation=dilations[i], drop_path_rates=rates[starts[i]:starts[i] + num_blocks]))
        self._add_stages(stem_channels, stages)
        self._freeze_stages()

    def make_res_layer(self, **kwargs):
        """Build one stage; variants add their block arguments here (ResNeXt's groups, SE ratio ...)."""
        return ResLayer(**kwargs)

    def _add_stages(self, in_channels, stages):
        """Add ``layer1..n`` from one dict of ``make_res_layer`` arguments per stage."""
        self.res_layers = []
        for i, stage in enumerate(stages):
            layer = self.make_res_layer(in_channels=in_channels, style=self.style, avg_down=self.avg_down,
                                        with_cp=self.with_cp, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                        **stage)
            in_channels = stage["out_channels"]
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = in_channels

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
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, self.stem_kernel,
                                          stride=self.stem_stride, padding=self.stem_kernel // 2, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1) if self.stem_pool else nn.Identity()

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
