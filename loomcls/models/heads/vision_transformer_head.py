"""The Vision Transformer head: classify the class token, optionally through a
hidden ``pre_logits`` layer (used when pre-training ViT from scratch)."""

import math
from collections import OrderedDict
from typing import Optional

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import build_activation_layer
from loomcv.validation import check_positive

from .cls_head import ClsHead


@MODELS.register_module()
class VisionTransformerClsHead(ClsHead):
    """Linear classifier on the class token (``layers.head``); with ``hidden_dim``
    a ``layers.pre_logits`` Linear and ``layers.act`` come first. Keys match MMPretrain's.

    Args:
        num_classes / in_channels: output classes and the token width.
        hidden_dim: width of the optional hidden layer.
        act_cfg: the hidden layer's activation (Tanh by default).
    """

    def __init__(self, num_classes: int, in_channels: int, hidden_dim: Optional[int] = None,
                 act_cfg=dict(type="Tanh"), init_cfg=dict(type="Constant", layer="Linear", val=0), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        self.num_classes, self.in_channels, self.hidden_dim = num_classes, in_channels, hidden_dim
        if hidden_dim is None:
            layers = [("head", nn.Linear(in_channels, num_classes))]
        else:
            layers = [("pre_logits", nn.Linear(in_channels, hidden_dim)),
                      ("act", build_activation_layer(act_cfg)),
                      ("head", nn.Linear(hidden_dim, num_classes))]
        self.layers = nn.Sequential(OrderedDict(layers))

    def init_weights(self):
        super().init_weights()
        if self.hidden_dim is not None:  # LeCun normal for the hidden layer, as ClassyVision
            fc = self.layers.pre_logits
            nn.init.trunc_normal_(fc.weight, std=math.sqrt(1 / fc.in_features))
            nn.init.zeros_(fc.bias)

    def pre_logits(self, feats):
        feat = feats[-1]
        if isinstance(feat, (list, tuple)):  # older backbones returned [patch_tokens, cls_token]
            feat = feat[-1]
        if feat.dim() != 2:
            raise ValueError(f"VisionTransformerClsHead expects the class token (B, C), got shape "
                             f"{tuple(feat.shape)}; use the backbone's out_type='cls_token'")
        if self.hidden_dim is None:
            return feat
        return self.layers.act(self.layers.pre_logits(feat))

    def forward(self, feats):
        return self.layers.head(self.pre_logits(feats))
