"""LeViT's classifier: BN then a linear layer, with an optional distillation twin
whose scores are averaged with the main ones at inference. ``switch_to_deploy``
folds each BN into its linear layer. Names (``head``/``head_dist`` with
``bn``/``linear``) follow MMPretrain 1.x."""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_norm_layer
from loomcv.validation import check_positive

from ..backbones.levit import fuse_parameters
from .cls_head import ClsHead


class BatchNormLinear(BaseModule):
    """``linear(bn(x))``; ``fuse()`` returns the single equivalent linear layer."""

    def __init__(self, in_channels, out_channels, norm_cfg=dict(type="BN1d")):
        super().__init__()
        self.bn = build_norm_layer(norm_cfg, in_channels)[1]
        self.linear = nn.Linear(in_channels, out_channels)

    def forward(self, x):
        return self.linear(self.bn(x))

    @torch.no_grad()
    def fuse(self) -> nn.Linear:
        scale = self.bn.weight / (self.bn.running_var + self.bn.eps).sqrt()
        shift = self.bn.bias - self.bn.running_mean * scale
        fused = nn.Linear(self.linear.in_features, self.linear.out_features).to(scale.device, scale.dtype)
        fused.weight.copy_(self.linear.weight * scale[None, :])
        fused.bias.copy_(self.linear.weight @ shift + self.linear.bias)
        return fused


@MODELS.register_module()
class LeViTClsHead(ClsHead):
    """Args:
        num_classes / in_channels: the classifier's size.
        distillation: add ``head_dist``; inference averages both heads' scores. Training with it is
            not supported (as in MMPretrain: its loss needs a teacher).
        deploy: fold the BNs right away (to load deploy checkpoints).
    """

    def __init__(self, num_classes=1000, distillation=True, in_channels=None, deploy=False, **kwargs):
        super().__init__(**kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        check_positive(self, "in_channels", in_channels, integer=True)
        self.num_classes, self.in_channels, self.distillation = num_classes, in_channels, distillation
        self.head = BatchNormLinear(in_channels, num_classes)
        if distillation:
            self.head_dist = BatchNormLinear(in_channels, num_classes)
        self.deploy = False
        if deploy:
            self.switch_to_deploy()

    def switch_to_deploy(self):
        if self.deploy:
            return
        fuse_parameters(self)
        self.deploy = True

    def forward(self, feats):
        x = self.pre_logits(feats)
        if not self.distillation:
            return self.head(x)
        if self.training:
            raise NotImplementedError("LeViTClsHead: training with distillation=True needs a distillation loss "
                                      "and teacher, which loomcls does not provide; set distillation=False")
        return (self.head(x) + self.head_dist(x)) / 2
