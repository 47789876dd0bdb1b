"""YOLOV3Neck: a light FPN that upsamples the coarsest features and concatenates finer ones."""

from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule
from loomdet.registry import MODELS


class DetectionBlock(BaseModule):
    """Five convs, 1x1 n, 3x3 2n, 1x1 n, 3x3 2n, 1x1 n, from any number of input channels."""

    def __init__(self, in_channels: int, out_channels: int, conv_cfg=None,
                 norm_cfg=dict(type="BN", requires_grad=True),
                 act_cfg=dict(type="LeakyReLU", negative_slope=0.1), init_cfg=None) -> None:  # noqa: B006
        super().__init__(init_cfg)
        double = out_channels * 2
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, out_channels, 1, **cfg)
        self.conv2 = ConvModule(out_channels, double, 3, padding=1, **cfg)
        self.conv3 = ConvModule(double, out_channels, 1, **cfg)
        self.conv4 = ConvModule(out_channels, double, 3, padding=1, **cfg)
        self.conv5 = ConvModule(double, out_channels, 1, **cfg)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))


@MODELS.register_module()
class YOLOV3Neck(BaseModule):
    """Takes backbone features finest first and returns them coarsest first.

    ``detect1`` processes the coarsest map; for each finer scale i, ``conv{i}``
    (1x1) reduces the previous output, which is upsampled 2x, concatenated with
    the backbone map and processed by ``detect{i+1}``.

    Args:
        num_scales: number of scales.
        in_channels: backbone channels per scale, coarsest first.
        out_channels: output channels per scale, coarsest first.
        conv_cfg / norm_cfg / act_cfg: of every conv.
    """

    def __init__(self, num_scales: int, in_channels: List[int], out_channels: List[int], conv_cfg=None,
                 norm_cfg=dict(type="BN", requires_grad=True),
                 act_cfg=dict(type="LeakyReLU", negative_slope=0.1), init_cfg=None) -> None:  # noqa: B006
        super().__init__(init_cfg)
        if not num_scales == len(in_channels) == len(out_channels):
            raise ValueError(f"YOLOV3Neck: num_scales={num_scales} needs as many in_channels ({list(in_channels)}) "
                             f"and out_channels ({list(out_channels)})")
        self.num_scales = num_scales
        self.in_channels = in_channels
        self.out_channels = out_channels
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.detect1 = DetectionBlock(in_channels[0], out_channels[0], **cfg)
        for i in range(1, self.num_scales):
            in_c, out_c = self.in_channels[i], self.out_channels[i]
            self.add_module(f"conv{i}", ConvModule(out_channels[i - 1], out_c, 1, **cfg))
            self.add_module(f"detect{i + 1}", DetectionBlock(in_c + out_c, out_c, **cfg))

    def forward(self, feats: Tuple[Tensor]) -> tuple:
        if len(feats) != self.num_scales:
            raise ValueError(f"YOLOV3Neck: expected {self.num_scales} feature maps, got {len(feats)}")
        for i, (feat, channels) in enumerate(zip(reversed(feats), self.in_channels)):
            if feat.size(1) != channels:
                raise ValueError(f"YOLOV3Neck: feature map {len(feats) - 1 - i} has {feat.size(1)} channels but "
                                 f"in_channels (coarsest first) says {channels}; in_channels must list the "
                                 f"backbone's channels from the coarsest map, here "
                                 f"{[f.size(1) for f in reversed(feats)]}")
        out = self.detect1(feats[-1])
        outs = [out]
        for i, x in enumerate(reversed(feats[:-1])):
            tmp = F.interpolate(getattr(self, f"conv{i + 1}")(out), scale_factor=2)
            out = getattr(self, f"detect{i + 2}")(torch.cat((tmp, x), 1))
            outs.append(out)
        return tuple(outs)
