"""LeNet-5 (LeCun et al., 1998) for 1-channel 32x32 images."""

import torch.nn as nn

from loomcls.registry import MODELS
from .base_backbone import BaseBackbone


@MODELS.register_module()
class LeNet5(BaseBackbone):
    """Three tanh convolutions with average pooling; with ``num_classes > 0``
    the two fully connected layers too, so the output is already class scores
    (use it with ``ClsHead``). Returns a 1-tuple."""

    def __init__(self, num_classes: int = -1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, kernel_size=5, stride=1), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(6, 16, kernel_size=5, stride=1), nn.Tanh(),
            nn.AvgPool2d(kernel_size=2),
            nn.Conv2d(16, 120, kernel_size=5, stride=1), nn.Tanh())
        if num_classes > 0:
            self.classifier = nn.Sequential(nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, num_classes))

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 1:
            raise ValueError(f"LeNet5 expects 1-channel NCHW images, got shape {tuple(x.shape)}")
        x = self.features(x)
        if self.num_classes > 0:
            if x.shape[-2:] != (1, 1):
                raise ValueError(f"LeNet5 with a classifier needs 32x32 inputs, got "
                                 f"{tuple(x.shape[-2:])} features; resize in the pipeline "
                                 "(dict(type='Resize', scale=32))")
            x = self.classifier(x.flatten(1))
        return (x,)
