"""RegNetX (Radosavovic et al., 2020): ResNeXt-style stages whose widths come
from a quantized linear rule (``w0 + wa * j``, snapped to powers of ``wm``)
instead of a hand-made table. Blocks are grouped bottlenecks with expansion 1;
module names follow MMPretrain 1.x (``conv1``/``bn1`` stem, ``layer1..4``)."""

import numpy as np

from loomcls.registry import MODELS
from loomcv.errors import ConfigError

from ..utils.arch import select_arch
from .resnet import Bottleneck, ResNet, stage_indices


def regnet_stages(w0, wa, wm, depth, group_w, bot_mul, divisor=8):
    """Per-stage (widths, blocks, group widths) of a RegNet design.

    Block j gets width ``w0 * wm ** round(log_wm((w0 + wa * j) / w0))`` rounded
    to ``divisor``; runs of equal widths form the stages. Each stage's width is
    then made a multiple of its group width.
    """
    linear = np.arange(depth) * wa + w0
    exponents = np.round(np.log(linear / w0) / np.log(wm))
    widths = (np.round(w0 * np.power(wm, exponents) / divisor) * divisor).astype(int).tolist()
    stage_widths, stage_blocks = [], []
    for width in widths:
        if stage_widths and stage_widths[-1] == width:
            stage_blocks[-1] += 1
        else:
            stage_widths.append(width)
            stage_blocks.append(1)
    bottlenecks = [int(w * bot_mul) for w in stage_widths]
    group_widths = [min(group_w, b) for b in bottlenecks]
    bottlenecks = [int(round(b / g) * g) for b, g in zip(bottlenecks, group_widths)]
    return [int(b / bot_mul) for b in bottlenecks], stage_blocks, group_widths


@MODELS.register_module()
class RegNet(ResNet):
    """RegNet.

    Args:
        arch: a name from ``arch_settings`` ('regnetx_400mf' ... 'regnetx_12gf') or a dict
            with w0 (initial width), wa (slope), wm (width multiplier), depth (blocks),
            group_w (group width) and bot_mul (bottleneck ratio).
        stem_channels: width of the 3x3 stride-2 stem conv (no max pooling follows).
        strides / dilations: per stage (as many as the arch has stages, 4 for the named ones).
        Other arguments as in ResNet (out_indices, frozen_stages, norm_eval, ...).
    """

    arch_settings = {
        "regnetx_400mf": dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
        "regnetx_800mf": dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
        "regnetx_1.6gf": dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
        "regnetx_3.2gf": dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
        "regnetx_4.0gf": dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
        "regnetx_6.4gf": dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
        "regnetx_8.0gf": dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
        "regnetx_12gf": dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
    }
    stem_kernel, stem_stride, stem_pool = 3, 2, False

    def __init__(self, arch, in_channels=3, stem_channels=32, base_channels=32, strides=(2, 2, 2, 2),
                 dilations=(1, 1, 1, 1), out_indices=(3,), style="pytorch", deep_stem=False, avg_down=False,
                 frozen_stages=-1, conv_cfg=None, norm_cfg=dict(type="BN", requires_grad=True),
                 norm_eval=False, with_cp=False, zero_init_residual=True, init_cfg=None):
        # the stages come from ``arch``, not from ResNet's depth table: skip ResNet.__init__
        super(ResNet, self).__init__(init_cfg=init_cfg)
        arch = self._resolve_arch(arch)
        if deep_stem:
            raise ValueError("RegNet: deep_stem is not supported (the stem is one 3x3 conv)")
        widths, blocks, group_widths = regnet_stages(**arch)
        num_stages = len(widths)
        if not 1 <= num_stages <= 4:
            raise ValueError(f"RegNet: arch {arch} gives {num_stages} stages; 1 to 4 are supported")
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(f"RegNet: this arch has {num_stages} stages; strides and dilations need "
                             f"{num_stages} values, got {tuple(strides)} and {tuple(dilations)}")
        self.arch, self.stage_widths, self.group_widths = arch, widths, group_widths
        self.depth, self.stage_blocks, self.num_stages = sum(blocks), blocks, num_stages
        self.stem_channels, self.base_channels, self.strides, self.dilations = (
            stem_channels, base_channels, strides, dilations)
        self.out_indices = stage_indices("RegNet", out_indices, num_stages)
        self.style, self.deep_stem, self.avg_down, self.frozen_stages = style, False, avg_down, frozen_stages
        self.conv_cfg, self.norm_cfg, self.norm_eval = conv_cfg, norm_cfg, norm_eval
        self.with_cp, self.zero_init_residual = with_cp, zero_init_residual

        self._make_stem_layer(in_channels, stem_channels)
        self._add_stages(stem_channels, [
            dict(block=Bottleneck, num_blocks=n, out_channels=w, expansion=1, stride=strides[i],
                 dilation=dilations[i], base_channels=w, groups=int(round(w * arch["bot_mul"])) // g,
                 width_per_group=g)
            for i, (w, n, g) in enumerate(zip(widths, blocks, group_widths))])
        self._freeze_stages()

    def _resolve_arch(self, arch):
        arch = select_arch(self, arch, self.arch_settings, ("w0", "wa", "wm", "depth", "group_w", "bot_mul"),
                           allow_extra_keys=False)
        if arch["w0"] <= 0 or arch["w0"] % 8 or arch["wa"] < 0 or arch["wm"] <= 1 or arch["depth"] < 1:
            raise ConfigError(f"RegNet: arch needs w0 > 0 and a multiple of 8, wa >= 0, wm > 1, depth >= 1; "
                              f"got {dict(arch)}")
        return dict(arch)
