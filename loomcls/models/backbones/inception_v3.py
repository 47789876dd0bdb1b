"""Inception V3 (Szegedy et al., 2016): factorized convolutions in parallel
branches (A-E blocks), with an optional auxiliary classifier.

The backbone includes the classifier (``fc``) and returns ``(aux_logits or None,
logits)``, as MMPretrain's (pair it with ``ClsHead``); module names follow
torchvision/MMPretrain (``Conv2d_1a_3x3``, ``Mixed_5b``.. ``Mixed_7c``,
``AuxLogits``, ``fc``) so their checkpoints load unchanged.
"""

from typing import Optional, Tuple

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_conv_layer
from loomcv.validation import check_positive, check_prob

from .base_backbone import BaseBackbone


class BasicConv2d(BaseModule):
    """Conv (no bias), BN (eps 1e-3), ReLU; keyword arguments go to the conv."""

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None, **kwargs):
        super().__init__(init_cfg=init_cfg)
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.conv(x)))


class InceptionA(BaseModule):
    """1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avgpool-1x1 (``pool_features`` wide), concatenated."""

    def __init__(self, in_channels: int, pool_features: int, conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = dict(conv_cfg=conv_cfg)
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1, **c)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1, **c)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2, **c)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1, **c)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1, **c)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1, **c)
        self.branch_pool_downsample = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1, **c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch1x1(x),
            self.branch5x5_2(self.branch5x5_1(x)),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(self.branch_pool_downsample(x)),
        ], 1)


class InceptionB(BaseModule):
    """Grid reduction: strided 3x3 | 1x1-3x3-strided 3x3 | max pool."""

    def __init__(self, in_channels: int, conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = dict(conv_cfg=conv_cfg)
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2, **c)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1, **c)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1, **c)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2, **c)
        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([
            self.branch3x3(x),
            self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
            self.branch_pool(x),
        ], 1)


class InceptionC(BaseModule):
    """7x7 convolutions factorized into 1x7 and 7x1 (``channels_7x7`` wide inside)."""

    def __init__(self, in_channels: int, channels_7x7: int, conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c, c7 = dict(conv_cfg=conv_cfg), channels_7x7
        row, col = dict(kernel_size=(1, 7), padding=(0, 3)), dict(kernel_size=(7, 1), padding=(3, 0))
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1, **c)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1, **c)
        self.branch7x7_2 = BasicConv2d(c7, c7, **row, **c)
        self.branch7x7_3 = BasicConv2d(c7, 192, **col, **c)
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1, **c)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, **col, **c)
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, **row, **c)
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, **col, **c)
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, **row, **c)
        self.branch_pool_downsample = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1, **c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dbl = self.branch7x7dbl_1(x)
        for conv in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            dbl = conv(dbl)
        return torch.cat([
            self.branch1x1(x),
            self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x))),
            dbl,
            self.branch_pool(self.branch_pool_downsample(x)),
        ], 1)


class InceptionD(BaseModule):
    """Grid reduction: 1x1-strided 3x3 | 1x1-1x7-7x1-strided 3x3 | max pool."""

    def __init__(self, in_channels: int, conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = dict(conv_cfg=conv_cfg)
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1, **c)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2, **c)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1, **c)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3), **c)
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0), **c)
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2, **c)
        self.branch_pool = nn.MaxPool2d(kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seven = self.branch7x7x3_1(x)
        for conv in (self.branch7x7x3_2, self.branch7x7x3_3, self.branch7x7x3_4):
            seven = conv(seven)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), seven, self.branch_pool(x)], 1)


class InceptionE(BaseModule):
    """Expanded filter bank: the 3x3 branches split into parallel 1x3 and 3x1 convs."""

    def __init__(self, in_channels: int, conv_cfg: Optional[dict] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        c = dict(conv_cfg=conv_cfg)
        row, col = dict(kernel_size=(1, 3), padding=(0, 1)), dict(kernel_size=(3, 1), padding=(1, 0))
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1, **c)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1, **c)
        self.branch3x3_2a = BasicConv2d(384, 384, **row, **c)
        self.branch3x3_2b = BasicConv2d(384, 384, **col, **c)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1, **c)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1, **c)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, **row, **c)
        self.branch3x3dbl_3b = BasicConv2d(384, 384, **col, **c)
        self.branch_pool_downsample = nn.AvgPool2d(kernel_size=3, stride=1, padding=1)
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1, **c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        three = self.branch3x3_1(x)
        dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        return torch.cat([
            self.branch1x1(x),
            torch.cat([self.branch3x3_2a(three), self.branch3x3_2b(three)], 1),
            torch.cat([self.branch3x3dbl_3a(dbl), self.branch3x3dbl_3b(dbl)], 1),
            self.branch_pool(self.branch_pool_downsample(x)),
        ], 1)


class InceptionAux(BaseModule):
    """The auxiliary classifier on the 17x17 map: 5x5/3 average pool, 1x1 and 5x5 convs,
    global pooling, Linear."""

    def __init__(self, in_channels: int, num_classes: int, conv_cfg: Optional[dict] = None,
                 init_cfg=(dict(type="TruncNormal", layer="Conv2d", std=0.01),
                           dict(type="TruncNormal", layer="Linear", std=0.001))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        self.downsample = nn.AvgPool2d(kernel_size=5, stride=3)
        self.conv0 = BasicConv2d(in_channels, 128, kernel_size=1, conv_cfg=conv_cfg)
        self.conv1 = BasicConv2d(128, 768, kernel_size=5, conv_cfg=conv_cfg)
        self.gap = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.gap(self.conv1(self.conv0(self.downsample(x)))), 1))


@MODELS.register_module()
class InceptionV3(BaseBackbone):
    """Inception V3 for 299x299 inputs (the network runs on inputs down to 75 px; the
    auxiliary branch needs the 17x17 map that 299 px inputs give).

    Args:
        num_classes: the classifier's (and the auxiliary classifier's) classes.
        aux_logits: build the auxiliary classifier; its logits are returned in
            training mode only, otherwise the first output is None.
        dropout: dropout before the classifier.
    """

    def __init__(self, num_classes: int = 1000, aux_logits: bool = False, dropout: float = 0.5,
                 init_cfg=(dict(type="TruncNormal", layer=["Conv2d", "Linear"], std=0.1),
                           dict(type="Constant", layer="BatchNorm2d", val=1))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        check_positive(self, "num_classes", num_classes, integer=True)
        check_prob(self, "dropout", dropout)
        self.aux_logits = aux_logits
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.maxpool1 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.maxpool2 = nn.MaxPool2d(kernel_size=3, stride=2)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.AuxLogits = InceptionAux(768, num_classes) if aux_logits else None
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280)
        self.Mixed_7c = InceptionE(2048)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.dropout = nn.Dropout(p=dropout)
        self.fc = nn.Linear(2048, num_classes)
        self.feat_dim = num_classes

    def forward(self, x: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        for name in ("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "maxpool1", "Conv2d_3b_1x1",
                     "Conv2d_4a_3x3", "maxpool2", "Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b",
                     "Mixed_6c", "Mixed_6d", "Mixed_6e"):
            x = getattr(self, name)(x)
        aux = self.AuxLogits(x) if self.aux_logits and self.training else None
        for name in ("Mixed_7a", "Mixed_7b", "Mixed_7c"):
            x = getattr(self, name)(x)
        x = torch.flatten(self.dropout(self.avgpool(x)), 1)
        return aux, self.fc(x)
