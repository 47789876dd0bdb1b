"""Res2Net (Gao et al., 2019): the bottleneck's 3x3 conv becomes ``scales``
narrow 3x3 convs chained inside the block, each seeing its own channel split
plus the previous one's output: multi-scale features at ResNet cost."""

import math

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import build_conv_layer, build_norm_layer
from loomcv.validation import check_positive
from .resnet import Bottleneck, ResLayer, ResNet


class Bottle2neck(Bottleneck):
    """Bottleneck whose middle is ``scales - 1`` 3x3 convs (``convs.i``/``bns.i``) over
    ``width``-channel splits; the last split passes unchanged ('normal') or is
    average-pooled ('stage', the first block of a stage, which also has no chaining)."""

    def __init__(self, in_channels, out_channels, scales=4, base_width=26, base_channels=64,
                 stage_type="normal", expansion=4, **kwargs):
        if not isinstance(scales, int) or scales < 2:
            raise ValueError(f"Bottle2neck: scales must be an int >= 2 (1 is a plain ResNet), got {scales!r}")
        if stage_type not in ("normal", "stage"):
            raise ValueError(f"Bottle2neck: stage_type must be 'normal' or 'stage', got {stage_type!r}")
        self.scales, self.stage_type = scales, stage_type
        self.width = int(math.floor(out_channels // expansion * (base_width / base_channels)))
        super().__init__(in_channels, out_channels, expansion=expansion, base_channels=base_channels,
                         mid_channels=self.width * scales, **kwargs)

    def _make_middle(self, conv_cfg, norm_cfg):
        if self.stage_type == "stage":
            self.pool = nn.AvgPool2d(kernel_size=3, stride=self.conv2_stride, padding=1)
        self.convs = nn.ModuleList(
            build_conv_layer(conv_cfg, self.width, self.width, 3, stride=self.conv2_stride,
                             padding=self.dilation, dilation=self.dilation, bias=False)
            for _ in range(self.scales - 1))
        self.bns = nn.ModuleList(build_norm_layer(norm_cfg, self.width, postfix=i + 1)[1]
                                 for i in range(self.scales - 1))

    def _middle(self, x):
        splits = torch.split(x, self.width, 1)
        outs, sp = [], None
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            sp = splits[i] if sp is None or self.stage_type == "stage" else sp + splits[i]
            sp = self.relu(bn(conv(sp.contiguous())))
            outs.append(sp)
        outs.append(self.pool(splits[-1]) if self.stage_type == "stage" else splits[-1])
        return torch.cat(outs, 1)


class Res2Layer(ResLayer):
    """A Res2Net stage: the first block is a 'stage' block; ``avg_down`` shortcuts always pool."""

    first_block_kwargs = {"stage_type": "stage"}
    pool_every_shortcut = True


@MODELS.register_module()
class Res2Net(ResNet):
    """Res2Net: the ResNet arguments (depth 50, 101 or 152) plus ``scales`` (splits per
    block) and ``base_width`` (channels per split in the first stage). As in MMPretrain,
    ``deep_stem`` and ``avg_down`` default to True and ``init_cfg`` to None."""

    arch_settings = {depth: (Bottle2neck, blocks) for depth, blocks in
                     ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3)))}

    def __init__(self, scales=4, base_width=26, style="pytorch", deep_stem=True, avg_down=True,
                 init_cfg=None, **kwargs):
        if not isinstance(scales, int) or scales < 2:
            raise ValueError(f"Res2Net: scales must be an int >= 2 (1 is a plain ResNet), got {scales!r}")
        check_positive(self, "base_width", base_width, integer=True)
        self.scales, self.base_width = scales, base_width
        super().__init__(style=style, deep_stem=deep_stem, avg_down=avg_down, init_cfg=init_cfg, **kwargs)

    def make_res_layer(self, **kwargs):
        return Res2Layer(scales=self.scales, base_width=self.base_width, base_channels=self.base_channels,
                         **kwargs)
