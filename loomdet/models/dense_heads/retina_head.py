"""RetinaHead (Lin et al., 2017): two conv towers over every FPN level, sigmoid focal loss."""

from typing import Tuple

import torch.nn as nn
from torch import Tensor

from loomcv.model.bricks import ConvModule
from loomdet.registry import MODELS
from .anchor_head import AnchorHead


@MODELS.register_module()
class RetinaHead(AnchorHead):
    """``stacked_convs`` 3x3 convs for classification and as many for regression, then
    ``retina_cls`` / ``retina_reg`` 3x3 predictors (A anchors per cell).

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of the input feature maps.
        stacked_convs: convs in each tower (0 allowed).
        conv_cfg / norm_cfg: of the tower convs.
        anchor_generator: config; RetinaNet's 9 anchors per cell by default.
        init_cfg: normal(0.01) convs, classification bias at prior 0.01.
        **kwargs: :class:`AnchorHead` arguments.
    """

    def __init__(self, num_classes: int, in_channels: int, stacked_convs: int = 4, conv_cfg=None, norm_cfg=None,
                 anchor_generator=dict(type="AnchorGenerator", octave_base_scale=4, scales_per_octave=3,
                                       ratios=[0.5, 1.0, 2.0], strides=[8, 16, 32, 64, 128]),
                 init_cfg=dict(type="Normal", layer="Conv2d", std=0.01,
                               override=dict(type="Normal", name="retina_cls", std=0.01, bias_prob=0.01)),
                 **kwargs) -> None:  # noqa: B006 (configs are copied)
        if not isinstance(stacked_convs, int) or stacked_convs < 0:
            raise ValueError(f"RetinaHead: stacked_convs must be an int >= 0, got {stacked_convs!r}")
        self.stacked_convs = stacked_convs
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        super().__init__(num_classes, in_channels, anchor_generator=anchor_generator, init_cfg=init_cfg, **kwargs)

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.cls_convs = nn.ModuleList()
        self.reg_convs = nn.ModuleList()
        in_channels = self.in_channels
        for _ in range(self.stacked_convs):
            for tower in (self.cls_convs, self.reg_convs):
                tower.append(ConvModule(in_channels, self.feat_channels, 3, stride=1, padding=1,
                                        conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
            in_channels = self.feat_channels
        self.retina_cls = nn.Conv2d(in_channels, self.num_base_priors * self.cls_out_channels, 3, padding=1)
        self.retina_reg = nn.Conv2d(in_channels, self.num_base_priors * self.bbox_coder.encode_size, 3, padding=1)

    def forward_single(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        cls_feat, reg_feat = x, x
        for conv in self.cls_convs:
            cls_feat = conv(cls_feat)
        for conv in self.reg_convs:
            reg_feat = conv(reg_feat)
        return self.retina_cls(cls_feat), self.retina_reg(reg_feat)
