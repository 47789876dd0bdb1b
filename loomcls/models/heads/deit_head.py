"""DeiT's head for the distilled ViT: one classifier on the class token (``layers.head``),
one on the distillation token (``layers.head_dist``); their scores are averaged. Keys
follow MMPretrain 1.x. Training needs a teacher's distillation loss, which loomcls does
not provide, so training runs (with a warning) on the averaged scores only."""

import warnings

import torch.nn as nn

from loomcls.registry import MODELS

from .vision_transformer_head import VisionTransformerClsHead


@MODELS.register_module()
class DeiTClsHead(VisionTransformerClsHead):
    """Arguments as VisionTransformerClsHead; expects ``(cls_token, dist_token)`` features."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        width = self.in_channels if self.hidden_dim is None else self.hidden_dim
        self.layers.add_module("head_dist", nn.Linear(width, self.num_classes))

    def pre_logits(self, feats):
        feat = feats[-1]
        if not isinstance(feat, (list, tuple)) or len(feat) not in (2, 3):
            raise ValueError("DeiTClsHead expects (class token, distillation token) from the backbone, e.g. "
                             "DistilledVisionTransformer with out_type='cls_token'")
        cls_token, dist_token = feat[-2:]  # older backbones also returned the patch tokens first
        if self.hidden_dim is None:
            return cls_token, dist_token
        return (self.layers.act(self.layers.pre_logits(cls_token)),
                self.layers.act(self.layers.pre_logits(dist_token)))

    def forward(self, feats):
        if self.training:
            warnings.warn("DeiTClsHead: the distilled DeiT is trained without its teacher here; only the "
                          "averaged scores get the classification loss", stacklevel=2)
        cls_token, dist_token = self.pre_logits(feats)
        return (self.layers.head(cls_token) + self.layers.head_dist(dist_token)) / 2
