"""ResNet for 32x32 images: a 3x3 stride-1 stem and no max pooling."""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import build_conv_layer, build_norm_layer
from .resnet import ResNet


@MODELS.register_module()
class ResNet_CIFAR(ResNet):
    """Same arguments as ResNet (``deep_stem`` is not supported)."""

    def __init__(self, depth, deep_stem=False, **kwargs):
        if deep_stem:
            raise ValueError("ResNet_CIFAR: deep_stem is not supported")
        super().__init__(depth, deep_stem=False, **kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3, stride=1, padding=1,
                                      bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)

    def _stem(self, x):
        return self.relu(self.norm1(self.conv1(x)))
