"""AnchorFreeHead: classification and regression conv towers over points (FCOS and kin)."""

from abc import abstractmethod
from typing import List, Tuple, Union

import torch.nn as nn
from torch import Tensor

from loomcv.model.bricks import ConvModule
from loomdet.models.task_modules.prior_generators import MlvlPointGenerator
from loomdet.registry import MODELS, TASK_UTILS
from .base_dense_head import BaseDenseHead
from .levels import multi_apply


class AnchorFreeHead(BaseDenseHead):
    """``stacked_convs`` 3x3 convs per tower, then ``conv_cls`` and ``conv_reg``; one point per cell.

    Args:
        num_classes: object classes, background excluded.
        in_channels: channels of the input feature maps.
        feat_channels: channels of the towers.
        stacked_convs: convs per tower.
        strides: stride of each input level.
        dcn_on_last_conv: deformable last tower conv; not available (no compiled ops).
        conv_bias: 'auto' (bias only without a norm) or a bool.
        loss_cls / loss_bbox / bbox_coder: configs.
        conv_cfg / norm_cfg: of the tower convs.
        train_cfg / test_cfg: training and testing settings.
    """

    def __init__(self, num_classes: int, in_channels: int, feat_channels: int = 256, stacked_convs: int = 4,
                 strides=(4, 8, 16, 32, 64), dcn_on_last_conv: bool = False, conv_bias: Union[bool, str] = "auto",
                 loss_cls: dict = dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
                 loss_bbox: dict = dict(type="IoULoss", loss_weight=1.0),
                 bbox_coder: dict = dict(type="DistancePointBBoxCoder"), conv_cfg=None, norm_cfg=None,
                 train_cfg=None, test_cfg=None,
                 init_cfg=dict(type="Normal", layer="Conv2d", std=0.01,
                               override=dict(type="Normal", name="conv_cls", std=0.01, bias_prob=0.01))) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if dcn_on_last_conv:
            raise ValueError(f"{name}: dcn_on_last_conv=True needs deformable convolution, which loomdet does not "
                             "have (no compiled ops); set it to False")
        if conv_bias != "auto" and not isinstance(conv_bias, bool):
            raise ValueError(f"{name}: conv_bias must be 'auto' or a bool, got {conv_bias!r}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{name}: num_classes must be an int >= 1, got {num_classes!r}")
        self.num_classes = num_classes
        self.use_sigmoid_cls = loss_cls.get("use_sigmoid", False)
        self.cls_out_channels = num_classes if self.use_sigmoid_cls else num_classes + 1
        self.in_channels = in_channels
        self.feat_channels = feat_channels
        self.stacked_convs = stacked_convs
        self.strides = strides
        self.dcn_on_last_conv = dcn_on_last_conv
        self.conv_bias = conv_bias
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_bbox = MODELS.build(loss_bbox)
        self.bbox_coder = TASK_UTILS.build(bbox_coder)
        self.prior_generator = MlvlPointGenerator(strides)
        self.num_base_priors = self.prior_generator.num_base_priors[0]
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self._init_layers()

    def _init_layers(self) -> None:
        self.cls_convs = self._tower()
        self.reg_convs = self._tower()
        self._init_predictor()

    def _tower(self) -> nn.ModuleList:
        return nn.ModuleList(
            ConvModule(self.in_channels if i == 0 else self.feat_channels, self.feat_channels, 3, stride=1, padding=1,
                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, bias=self.conv_bias)
            for i in range(self.stacked_convs))

    def _init_predictor(self) -> None:
        self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)

    def forward(self, x: Tuple[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        return multi_apply(self.forward_single, x)[:2]

    def forward_single(self, x: Tensor) -> Tuple[Tensor, ...]:
        """``(cls_score, bbox_pred, cls_feat, reg_feat)`` of one level."""
        cls_feat, reg_feat = x, x
        for layer in self.cls_convs:
            cls_feat = layer(cls_feat)
        cls_score = self.conv_cls(cls_feat)
        for layer in self.reg_convs:
            reg_feat = layer(reg_feat)
        return cls_score, self.conv_reg(reg_feat), cls_feat, reg_feat

    @abstractmethod
    def get_targets(self, points: List[Tensor], batch_gt_instances: list):
        """Targets of every point of every level."""
