"""ResNeSt (Zhang et al., 2020): a ResNet-D whose bottleneck 3x3 conv is a
split-attention conv -- ``radix`` parallel grouped convs whose outputs are
mixed by a softmax over the radix, computed from their pooled sum.

Module names follow MMPretrain 1.x (``layerN.M.conv2.{conv,bn0,fc1,bn1,fc2}``,
``avd_layer`` when the stride moves to an average pool) so its checkpoints load.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model.bricks import build_conv_layer, build_norm_layer
from loomcv.validation import check_positive
from .resnet import Bottleneck as _ResNetBottleneck
from .resnet import ResLayer, ResNetV1d


class RSoftmax(nn.Module):
    """Attention weights over the radix: a softmax across the ``radix`` splits of
    each group (a sigmoid gate when ``radix == 1``)."""

    def __init__(self, radix: int, groups: int):
        super().__init__()
        self.radix, self.groups = radix, groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.size(0)
        if self.radix == 1:
            return torch.sigmoid(x)
        # fc2 lays channels out as (groups, radix, c); the splits are radix-major
        x = x.view(batch, self.groups, self.radix, -1).transpose(1, 2)
        return F.softmax(x, dim=1).reshape(batch, -1)


class SplitAttentionConv2d(nn.Module):
    """A conv giving ``channels * radix`` maps (``groups * radix`` groups), then a
    per-channel weighting of the ``radix`` splits learned from their global
    average (two grouped 1x1 convs ``fc1``/``fc2``), summed into ``channels`` maps.

    Args:
        in_channels / channels: input and output channels.
        kernel_size, stride, padding, dilation, groups: of the split conv.
        radix: number of splits that attention chooses between.
        reduction_factor: ``fc1`` has ``max(in_channels * radix // reduction_factor, 32)``
            channels.
    """

    def __init__(self, in_channels: int, channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, radix: int = 2, reduction_factor: int = 4, conv_cfg=None,
                 norm_cfg=dict(type="BN")):
        super().__init__()
        check_positive(self, "radix", radix, integer=True)
        check_positive(self, "reduction_factor", reduction_factor, integer=True)
        check_positive(self, "groups", groups, integer=True)
        if channels % groups or in_channels % groups:
            raise ValueError(f"SplitAttentionConv2d: in_channels ({in_channels}) and channels ({channels}) "
                             f"must be divisible by groups ({groups})")
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix, self.groups, self.channels = radix, groups, channels
        self.conv = build_conv_layer(conv_cfg, in_channels, channels * radix, kernel_size, stride=stride,
                                     padding=padding, dilation=dilation, groups=groups * radix, bias=False)
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = nn.Conv2d(channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = nn.Conv2d(inter_channels, channels * radix, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self):
        return getattr(self, self.norm0_name)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.norm0(self.conv(x)))
        batch = x.size(0)
        if self.radix > 1:
            splits = x.view(batch, self.radix, -1, *x.shape[2:])
            pooled = splits.sum(dim=1)
        else:
            pooled = x
        pooled = F.adaptive_avg_pool2d(pooled, 1)
        attention = self.fc2(self.relu(self.norm1(self.fc1(pooled))))
        attention = self.rsoftmax(attention).view(batch, -1, 1, 1)
        if self.radix > 1:
            out = (attention.view(batch, self.radix, -1, 1, 1) * splits).sum(dim=1)
        else:
            out = attention * x
        return out.contiguous()


class Bottleneck(_ResNetBottleneck):
    """The ResNeSt bottleneck: the middle 3x3 conv is a :class:`SplitAttentionConv2d`
    (no norm of its own: ``bn2`` is gone). With ``avg_down_stride`` a strided
    block keeps its split conv at stride 1 and downsamples after it with a 3x3
    average pool (``avd_layer``)."""

    def __init__(self, in_channels, out_channels, radix=2, reduction_factor=4, avg_down_stride=True,
                 **kwargs):
        self.radix, self.reduction_factor, self._avg_down_stride = radix, reduction_factor, avg_down_stride
        super().__init__(in_channels, out_channels, **kwargs)

    def _make_middle(self, conv_cfg, norm_cfg):
        self.avg_down_stride = self._avg_down_stride and self.conv2_stride > 1
        self.conv2 = SplitAttentionConv2d(
            self.mid_channels, self.mid_channels, kernel_size=3,
            stride=1 if self.avg_down_stride else self.conv2_stride, padding=self.dilation,
            dilation=self.dilation, groups=self.groups, radix=self.radix,
            reduction_factor=self.reduction_factor, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)

    def _middle(self, x):
        out = self.conv2(x)
        return self.avd_layer(out) if self.avg_down_stride else out


@MODELS.register_module()
class ResNeSt(ResNetV1d):
    """ResNeSt: ResNet-D (deep stem, average-pooled shortcuts) with split-attention
    bottlenecks.

    Args:
        depth: 50, 101, 152, 200 or 269 (the published models use
            ``stem_channels=64`` for 50 and 128 for the others).
        groups / width_per_group: cardinality of the split conv, as ResNeXt
            (``groups=1`` keeps the ResNet width).
        radix: splits per group that attention chooses between.
        reduction_factor: channel reduction of the attention's hidden layer.
        avg_down_stride: strided blocks pool after the split conv instead of
            striding it.
        Other arguments are ResNet's (``out_indices``, ``frozen_stages``,
        ``norm_eval``, ``with_cp``, ``zero_init_residual`` ...).
    """

    arch_settings = {depth: (Bottleneck, blocks) for depth, blocks in
                     ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3)),
                      (200, (3, 24, 36, 3)), (269, (3, 30, 48, 8)))}

    def __init__(self, depth, groups=1, width_per_group=4, radix=2, reduction_factor=4, avg_down_stride=True,
                 **kwargs):
        check_positive(self, "groups", groups, integer=True)
        check_positive(self, "width_per_group", width_per_group, integer=True)
        check_positive(self, "radix", radix, integer=True)
        check_positive(self, "reduction_factor", reduction_factor, integer=True)
        self.groups, self.width_per_group = groups, width_per_group
        self.radix, self.reduction_factor, self.avg_down_stride = radix, reduction_factor, avg_down_stride
        super().__init__(depth=depth, **kwargs)

    def make_res_layer(self, **kwargs):
        return ResLayer(groups=self.groups, width_per_group=self.width_per_group,
                        base_channels=self.base_channels, radix=self.radix,
                        reduction_factor=self.reduction_factor, avg_down_stride=self.avg_down_stride, **kwargs)
