"""ShuffleNetV1 (Zhang et al., 2018): grouped 1x1 convs made cheap, with a channel
shuffle so information crosses the groups.

Module names follow MMPretrain 1.x (``conv1``, ``layers.i.j`` units with
``g_conv_1x1_compress``, ``depthwise_conv3x3_bn``, ``g_conv_1x1_expand``) so its
checkpoints load unchanged.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, activation_checkpoint, build_activation_layer, make_divisible
from loomcv.validation import check_choice, check_positive

from .shufflenet_v2 import ShuffleNetLayout


class ShuffleUnit(BaseModule):
    """Grouped 1x1 compress -> shuffle -> 3x3 depthwise -> grouped 1x1 expand.

    ``combine='add'`` keeps the size and adds the input; ``'concat'`` halves
    the resolution and concatenates the average-pooled input, so the branch
    only produces ``out_channels - in_channels`` channels. The very first unit
    (``first_block``) compresses with an ungrouped conv: its 24 input channels
    are too few to split.
    """

    def __init__(self, in_channels, out_channels, groups=3, first_block=True, combine="add",
                 conv_cfg=None, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), with_cp=False):
        super().__init__()
        if combine not in ("add", "concat"):
            raise ValueError(f"ShuffleUnit: combine must be 'add' or 'concat', got {combine!r}")
        if combine == "add" and in_channels != out_channels:
            raise ValueError(f"ShuffleUnit: combine='add' needs in_channels ({in_channels}) == "
                             f"out_channels ({out_channels})")
        self.in_channels, self.groups, self.combine, self.with_cp = in_channels, groups, combine, with_cp
        self.first_block = first_block
        bottleneck = out_channels // 4
        branch_out = out_channels - in_channels if combine == "concat" else out_channels
        self.bottleneck_channels, self.out_channels = bottleneck, branch_out
        for what, channels in (("input", 0 if first_block else in_channels), ("bottleneck", bottleneck),
                               ("output", branch_out)):
            if channels % groups:
                raise ValueError(f"ShuffleNetV1: {channels} {what} channels of a unit cannot be split into "
                                 f"{groups} groups; pick another widen_factor or groups")
        stride = 2 if combine == "concat" else 1
        if combine == "concat":
            self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.g_conv_1x1_compress = ConvModule(in_channels, bottleneck, 1, groups=1 if first_block else groups,
                                              act_cfg=act_cfg, **common)
        self.depthwise_conv3x3_bn = ConvModule(bottleneck, bottleneck, 3, stride=stride, padding=1,
                                               groups=bottleneck, act_cfg=None, **common)
        self.g_conv_1x1_expand = ConvModule(bottleneck, branch_out, 1, groups=groups, act_cfg=None, **common)
        self.act = build_activation_layer(act_cfg)

    def forward(self, x):
        def inner(x):
            out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
            if self.groups > 1:
                out = F.channel_shuffle(out, self.groups)
            out = self.g_conv_1x1_expand(out)
            if self.combine == "concat":
                return torch.cat((self.avgpool(x), self.act(out)), 1)
            return self.act(x + out)

        return activation_checkpoint(inner, x, enabled=self.with_cp)


@MODELS.register_module()
class ShuffleNetV1(ShuffleNetLayout):
    """ShuffleNetV1.

    Args:
        groups: groups of the 1x1 convs: 1, 2, 3, 4 or 8 (each has its channel table).
        widen_factor: channel multiplier (stage widths rounded to multiples of 8).
        out_indices: stages 0..2 whose outputs are returned.
        frozen_stages: -1 freezes nothing, 0 the stem ``conv1``, n also ``layers[:n]``.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
    """

    channel_table = {1: (144, 288, 576), 2: (200, 400, 800), 3: (240, 480, 960),
                     4: (272, 544, 1088), 8: (384, 768, 1536)}
    stage_blocks = (4, 8, 4)

    def __init__(self, groups=3, widen_factor=1.0, out_indices=(2,), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), norm_eval=False, with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_choice(self, "groups", groups, sorted(self.channel_table))
        check_positive(self, "widen_factor", widen_factor)
        num_stages = len(self.stage_blocks)
        self._set_stage_args(out_indices, frozen_stages, norm_eval, num_stages, max_frozen=num_stages)
        self.groups = groups
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        channels = [make_divisible(c * widen_factor, 8) for c in self.channel_table[groups]]

        in_channels = int(24 * widen_factor)
        self.conv1 = ConvModule(3, in_channels, 3, stride=2, padding=1, **common)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList()
        for i, (out_channels, num_blocks) in enumerate(zip(channels, self.stage_blocks)):
            units = []
            for j in range(num_blocks):
                units.append(ShuffleUnit(in_channels, out_channels, groups, first_block=(i == 0 and j == 0),
                                         combine="concat" if j == 0 else "add", with_cp=with_cp, **common))
                in_channels = out_channels
            self.layers.append(nn.Sequential(*units))
        self.feat_dim = in_channels
        self._freeze_stages()
