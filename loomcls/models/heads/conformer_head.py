"""Conformer's head: one linear classifier per branch (CNN and transformer); the
loss is summed over both, predictions use the sum of their scores."""

from typing import List, Optional, Sequence

import torch
import torch.nn as nn

from loomcls.evaluation.metrics.single_label import Accuracy
from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.validation import check, check_positive

from .cls_head import ClsHead


@MODELS.register_module()
class ConformerHead(ClsHead):
    """Classify the last output pair ``[conv feature, transformer feature]`` of a
    :class:`~loomcls.models.backbones.Conformer`.

    Args:
        num_classes: number of classes.
        in_channels: ``[conv_dim, trans_dim]``.
    """

    def __init__(self, num_classes: int, in_channels: Sequence[int],
                 init_cfg=dict(type="TruncNormal", layer="Linear", std=.02), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        check(isinstance(in_channels, Sequence) and len(in_channels) == 2, self,
              f"in_channels must be [conv_dim, trans_dim], got {in_channels!r}")
        self.in_channels, self.num_classes = list(in_channels), num_classes
        self.conv_cls_head = nn.Linear(self.in_channels[0], num_classes)
        self.trans_cls_head = nn.Linear(self.in_channels[1], num_classes)

    def forward(self, feats):
        x = self.pre_logits(feats)
        check(len(x) == 2, self, f"expects a [conv, transformer] feature pair, got {len(x)} features")
        return self.conv_cls_head(x[0]), self.trans_cls_head(x[1])

    def predict(self, feats, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        conv_score, trans_score = self(feats)
        return self._get_predictions(conv_score + trans_score, data_samples)

    def _get_loss(self, cls_score, data_samples, **kwargs):
        if "gt_score" in data_samples[0]:
            target = torch.stack([s.gt_score for s in data_samples])
        else:
            target = torch.cat([s.gt_label for s in data_samples])
        losses = {"loss": sum(self.loss_module(score, target, avg_factor=score.size(0), **kwargs)
                              for score in cls_score)}
        if self.cal_acc:
            if target.dim() != 1:
                raise ValueError("ConformerHead: cal_acc needs hard labels, but the targets are scores "
                                 "(Mixup/CutMix); set cal_acc=False")
            acc = Accuracy.calculate((cls_score[0] + cls_score[1]).detach(), target, topk=self.topk, thrs=(None,))
            losses.update({f"accuracy_top-{k}": row[0] for k, row in zip(self.topk, acc)})
        return losses
