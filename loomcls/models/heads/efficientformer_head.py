"""EfficientFormer's head: a classifier and, for the distilled models, a second
one (``dist_head``) on the same pooled feature; predictions average the two."""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.validation import check_positive

from .cls_head import ClsHead


@MODELS.register_module()
class EfficientFormerClsHead(ClsHead):
    """Args: ``num_classes``, ``in_channels``; ``distillation`` adds ``dist_head``
    (such a model classifies, but cannot be trained here: that needs a teacher,
    as in MMPretrain)."""

    def __init__(self, num_classes: int, in_channels: int, distillation: bool = True,
                 init_cfg=dict(type="Normal", layer="Linear", std=0.01), *args, **kwargs):
        super().__init__(*args, init_cfg=init_cfg, **kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        self.in_channels, self.num_classes, self.dist = in_channels, num_classes, distillation
        self.head = nn.Linear(in_channels, num_classes)
        if distillation:
            self.dist_head = nn.Linear(in_channels, num_classes)

    def forward(self, feats):
        pre_logits = self.pre_logits(feats)
        score = self.head(pre_logits)
        return (score + self.dist_head(pre_logits)) / 2 if self.dist else score

    def loss(self, feats, data_samples, **kwargs):
        if self.dist:
            raise NotImplementedError("EfficientFormerClsHead: the distilled EfficientFormer cannot be trained "
                                      "(no teacher; as MMPretrain); set distillation=False to train")
        return super().loss(feats, data_samples, **kwargs)
