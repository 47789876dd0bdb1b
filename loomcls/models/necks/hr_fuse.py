"""Fuse HRNet's branches into one classification feature: widen each branch with a
Bottleneck, then walk from the finest to the coarsest, downsampling and adding."""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule

from ..backbones.resnet import Bottleneck, ResLayer


@MODELS.register_module()
class HRFuseScales(BaseModule):
    """Fuse the (C, 2C, 4C, 8C) maps of HRNet into one ``out_channels`` map.

    Each branch becomes 128/256/512/1024 channels (one Bottleneck), the running
    sum is downsampled by a strided 3x3 ConvModule and added to the next branch,
    and a 1x1 ConvModule makes the result ``out_channels`` wide. Returns a
    one-element tuple.
    """

    def __init__(self, in_channels, out_channels=2048, norm_cfg=dict(type="BN", momentum=0.1),
                 init_cfg=dict(type="Normal", layer="Linear", std=0.01)):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 4:
            raise ValueError(f"HRFuseScales: in_channels needs the 4 HRNet branch widths, got {in_channels!r}")
        self.in_channels, self.out_channels, self.norm_cfg = in_channels, out_channels, norm_cfg
        widths = [128, 256, 512, 1024]
        self.increase_layers = nn.ModuleList([
            ResLayer(Bottleneck, in_channels=c, out_channels=w, num_blocks=1, stride=1)
            for c, w in zip(in_channels, widths)])
        self.downsample_layers = nn.ModuleList([
            ConvModule(widths[i], widths[i + 1], 3, stride=2, padding=1, norm_cfg=norm_cfg, bias=False)
            for i in range(len(in_channels) - 1)])
        self.final_layer = ConvModule(widths[3], out_channels, 1, norm_cfg=norm_cfg, bias=False)

    def forward(self, x):
        if not isinstance(x, tuple) or len(x) != len(self.in_channels):
            raise ValueError(f"HRFuseScales takes a tuple of {len(self.in_channels)} feature maps (HRNet's "
                             f"outputs), got {type(x).__name__} of length {len(x) if isinstance(x, tuple) else '-'}")
        feat = self.increase_layers[0](x[0])
        for i, downsample in enumerate(self.downsample_layers):
            feat = downsample(feat) + self.increase_layers[i + 1](x[i + 1])
        return (self.final_layer(feat),)
