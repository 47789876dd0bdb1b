"""CSPNet (Wang et al., 2020): stages that send half of the channels through the
blocks and the other half around them, then fuse both; with Darknet, ResNet and
ResNeXt blocks (CSPDarkNet, CSPResNet, CSPResNeXt).

Arguments and module names follow MMPretrain 1.x (``stem``, ``stages.i`` with
``downsample_conv``, ``expand_conv``, ``blocks``, ``atfer_blocks_conv`` (sic) and
``final_conv``), so its converted timm checkpoints load.
"""

import math

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, DepthwiseSeparableConvModule, DropPath

from ..utils.arch import drop_path_rates, normalize_out_indices
from .base_backbone import BaseBackbone
from .resnet import Bottleneck

_EPS = 1.0e-5
_SQRT5 = math.sqrt(5)


class DarknetBottleneck(BaseModule):
    """1x1 conv to ``out_channels / expansion``, 3x3 conv back, plus the input."""

    def __init__(self, in_channels, out_channels, expansion=2, add_identity=True, use_depthwise=False,
                 conv_cfg=None, drop_path_rate=0, norm_cfg=dict(type="BN", eps=1e-5),
                 act_cfg=dict(type="LeakyReLU", inplace=True), init_cfg=None):
        super().__init__(init_cfg)
        hidden = int(out_channels / expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = ConvModule(in_channels, hidden, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = conv(hidden, out_channels, 3, stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                          act_cfg=act_cfg)
        self.add_identity = add_identity and in_channels == out_channels
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > _EPS else nn.Identity()

    def forward(self, x):
        out = self.drop_path(self.conv2(self.conv1(x)))
        return out + x if self.add_identity else out


class ResNeXtBottleneck(Bottleneck):
    """ResNeXt's grouped bottleneck (32 groups of 4 by default) as CSPResNeXt uses it."""

    def __init__(self, in_channels, out_channels, base_channels=64, groups=32, width_per_group=4, **kwargs):
        super().__init__(in_channels, out_channels, base_channels=base_channels, groups=groups,
                         width_per_group=width_per_group, **kwargs)


class CSPStage(BaseModule):
    """Optional stride-2 conv, 1x1 expand, split: blocks on one half, then concat and fuse."""

    def __init__(self, block_fn, in_channels, out_channels, has_downsampler=True, down_growth=False,
                 expand_ratio=0.5, bottle_ratio=2, num_blocks=1, block_dpr=0, block_args={}, conv_cfg=None,
                 norm_cfg=dict(type="BN", eps=1e-5), act_cfg=dict(type="LeakyReLU", inplace=True), init_cfg=None):
        super().__init__(init_cfg)
        down_channels = out_channels if down_growth else in_channels
        rates = list(block_dpr) if isinstance(block_dpr, (list, tuple)) else [block_dpr] * num_blocks
        if has_downsampler:
            self.downsample_conv = ConvModule(in_channels, down_channels, 3, stride=2, padding=1,
                                              groups=32 if block_fn is ResNeXtBottleneck else 1,
                                              norm_cfg=norm_cfg, act_cfg=act_cfg)
        else:
            self.downsample_conv = nn.Identity()
        exp_channels = int(down_channels * expand_ratio)
        self.expand_conv = ConvModule(down_channels, exp_channels, 1, norm_cfg=norm_cfg,
                                      act_cfg=act_cfg if block_fn is DarknetBottleneck else None)
        if exp_channels % 2:
            raise ConfigError(f"CSPStage: the expanded width {exp_channels} must be even to split it in two")
        half = exp_channels // 2
        self.blocks = nn.Sequential(*[
            block_fn(in_channels=half, out_channels=half, expansion=bottle_ratio, drop_path_rate=rates[i],
                     conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, **block_args)
            for i in range(num_blocks)])
        self.atfer_blocks_conv = ConvModule(half, half, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.final_conv = ConvModule(2 * half, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x):
        x = self.expand_conv(self.downsample_conv(x))
        split = x.shape[1] // 2
        xa, xb = x[:, :split], x[:, split:]
        xb = self.atfer_blocks_conv(self.blocks(xb)).contiguous()
        return self.final_conv(torch.cat((xa, xb), dim=1))


class CSPNet(BaseBackbone):
    """A stem then CSP stages; ``arch`` holds per-stage (or shared) settings: block_fn, in_channels,
    out_channels, num_blocks, expand_ratio, bottle_ratio, has_downsampler, down_growth, block_args.

    ``frozen_stages=n`` (0-based, as MMPretrain) freezes the stem and stages 0..n.
    """

    def __init__(self, arch, stem_fn, in_channels=3, out_indices=-1, frozen_stages=-1, drop_path_rate=0.0,
                 conv_cfg=None, norm_cfg=dict(type="BN", eps=1e-5), act_cfg=dict(type="LeakyReLU", inplace=True),
                 norm_eval=False, init_cfg=dict(type="Kaiming", layer="Conv2d")):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.arch = self.expand_arch(arch, name)
        self.num_stages = len(self.arch["in_channels"])
        self.conv_cfg, self.norm_cfg, self.act_cfg, self.norm_eval = conv_cfg, norm_cfg, act_cfg, norm_eval
        if frozen_stages not in range(-1, self.num_stages):
            raise ValueError(f"{name}: frozen_stages must be in -1..{self.num_stages - 1}, got {frozen_stages!r}")
        self.frozen_stages = frozen_stages
        self.stem = stem_fn(in_channels)
        depths = list(self.arch["num_blocks"])
        flat = drop_path_rates(drop_path_rate, sum(depths))
        starts = [sum(depths[:i]) for i in range(self.num_stages)]
        rates = [flat[s:s + d] for s, d in zip(starts, depths)]
        self.stages = nn.Sequential(*[
            CSPStage(**{k: v[i] for k, v in self.arch.items()}, block_dpr=rates[i], conv_cfg=conv_cfg,
                     norm_cfg=norm_cfg, act_cfg=act_cfg, init_cfg=init_cfg)
            for i in range(self.num_stages)])
        self.out_indices = normalize_out_indices(name, out_indices, self.num_stages)
        self._freeze_stages()

    @staticmethod
    def expand_arch(arch, owner="CSPNet"):
        """Per-stage tuples for every arch entry (a single value is shared by all stages)."""
        num_stages = len(arch["in_channels"])

        def per_stage(value, key):
            if isinstance(value, (list, tuple)):
                if len(value) != num_stages:
                    raise ConfigError(f"{owner}: arch[{key!r}] has {len(value)} entries for {num_stages} stages")
                return tuple(value)
            return (value,) * num_stages

        full = {k: per_stage(v, k) for k, v in arch.items()}
        full.setdefault("block_args", ({},) * num_stages)
        return full

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        return [self.stem, *self.stages[:self.frozen_stages + 1]]

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


@MODELS.register_module()
class CSPDarkNet(CSPNet):
    """CSP-Darknet-53 (YOLOv4's backbone): a stride-1 3x3 stem and five CSP stages."""

    arch_settings = {
        53: dict(block_fn=DarknetBottleneck, in_channels=(32, 64, 128, 256, 512),
                 out_channels=(64, 128, 256, 512, 1024), num_blocks=(1, 2, 8, 8, 4), expand_ratio=(2, 1, 1, 1, 1),
                 bottle_ratio=(2, 1, 1, 1, 1), has_downsampler=True, down_growth=True),
    }

    def __init__(self, depth, in_channels=3, out_indices=(4,), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN", eps=1e-5), act_cfg=dict(type="LeakyReLU", inplace=True), norm_eval=False,
                 init_cfg=dict(type="Kaiming", layer="Conv2d", a=_SQRT5, distribution="uniform",
                               mode="fan_in", nonlinearity="leaky_relu")):
        if depth not in self.arch_settings:
            raise ValueError(f"{type(self).__name__}: depth must be one of {list(self.arch_settings)}, got {depth!r}")
        super().__init__(arch=self.arch_settings[depth], stem_fn=self._make_stem_layer, in_channels=in_channels,
                         out_indices=out_indices, frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, norm_eval=norm_eval, init_cfg=init_cfg)

    def _make_stem_layer(self, in_channels):
        return ConvModule(in_channels, self.arch["in_channels"][0], 3, padding=1, norm_cfg=self.norm_cfg,
                          act_cfg=self.act_cfg)


@MODELS.register_module()
class CSPResNet(CSPNet):
    """CSP-ResNet-50: a ResNet stem (or ``deep_stem``) and four CSP stages of bottlenecks."""

    arch_settings = {
        50: dict(block_fn=Bottleneck, in_channels=(64, 128, 256, 512), out_channels=(128, 256, 512, 1024),
                 num_blocks=(3, 3, 5, 2), expand_ratio=4, bottle_ratio=2,
                 has_downsampler=(False, True, True, True), down_growth=False),
    }

    def __init__(self, depth, in_channels=3, out_indices=(3,), frozen_stages=-1, deep_stem=False, conv_cfg=None,
                 norm_cfg=dict(type="BN", eps=1e-5), act_cfg=dict(type="LeakyReLU", inplace=True), norm_eval=False,
                 init_cfg=dict(type="Kaiming", layer="Conv2d")):
        if depth not in self.arch_settings:
            raise ValueError(f"{type(self).__name__}: depth must be one of {list(self.arch_settings)}, got {depth!r}")
        self.deep_stem = deep_stem
        super().__init__(arch=self.arch_settings[depth], stem_fn=self._make_stem_layer, in_channels=in_channels,
                         out_indices=out_indices, frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, norm_eval=norm_eval, init_cfg=init_cfg)

    def _make_stem_layer(self, in_channels):
        width = self.arch["in_channels"][0]
        common = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
        if self.deep_stem:
            return nn.Sequential(ConvModule(in_channels, width // 2, 3, stride=2, padding=1, **common),
                                 ConvModule(width // 2, width // 2, 3, stride=1, padding=1, **common),
                                 ConvModule(width // 2, width, 3, stride=1, padding=1, **common))
        return nn.Sequential(ConvModule(in_channels, width, 7, stride=2, padding=3, **common),
                             nn.MaxPool2d(kernel_size=3, stride=2, padding=1))


@MODELS.register_module()
class CSPResNeXt(CSPResNet):
    """CSP-ResNeXt-50: CSPResNet with grouped (32x4d, base width 32) bottlenecks."""

    arch_settings = {
        50: dict(block_fn=ResNeXtBottleneck, in_channels=(64, 256, 512, 1024), out_channels=(256, 512, 1024, 2048),
                 num_blocks=(3, 3, 5, 2), expand_ratio=(4, 2, 2, 2), bottle_ratio=4,
                 has_downsampler=(False, True, True, True), down_growth=False, block_args=dict(base_channels=32)),
    }
