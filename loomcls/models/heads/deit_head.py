"""DeiT's head for the distilled ViT: one classifier on the class token, one
(``head_dist``) on the distillation token; predictions average the two."""

import warnings

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.validation import check

from .vision_transformer_head import VisionTransformerClsHead


@MODELS.register_module()
class DeiTClsHead(VisionTransformerClsHead):
    """The :class:`VisionTransformerClsHead` arguments; ``layers.head_dist`` is added.

    As in MMPretrain, it classifies but does not train with distillation (that
    needs a teacher): training it only learns the averaged score.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        width = self.in_channels if self.hidden_dim is None else self.hidden_dim
        self.layers.add_module("head_dist", nn.Linear(width, self.num_classes))

    def pre_logits(self, feats):
        feat = feats[-1]
        check(isinstance(feat, (list, tuple)) and len(feat) in (2, 3), self,
              "expects the (class token, distillation token) pair of a DistilledVisionTransformer "
              f"with out_type='cls_token', got {type(feat).__name__}")
        cls_token, dist_token = feat[-2:]  # older backbones put the patch tokens first
        if self.hidden_dim is None:
            return cls_token, dist_token
        return (self.layers.act(self.layers.pre_logits(cls_token)),
                self.layers.act(self.layers.pre_logits(dist_token)))

    def forward(self, feats):
        if self.training:
            warnings.warn("DeiTClsHead trains the averaged score only, without its teacher: distillation from "
                          "a teacher is not supported (as in MMPretrain)", stacklevel=2)
        cls_token, dist_token = self.pre_logits(feats)
        return (self.layers.head(cls_token) + self.layers.head_dist(dist_token)) / 2
