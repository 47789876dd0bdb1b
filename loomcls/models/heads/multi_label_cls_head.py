"""Multi-label heads: one sigmoid per class."""

from typing import List, Optional

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.model import BaseModule
from loomcv.registry import build_or_accept
from loomcv.validation import check_positive


@MODELS.register_module()
class MultiLabelClsHead(BaseModule):
    """Predicts every class with score >= ``thr`` (default 0.5), or the
    ``topk`` highest-scoring classes."""

    def __init__(self, loss=dict(type="CrossEntropyLoss", use_sigmoid=True), thr: Optional[float] = None,
                 topk: Optional[int] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if thr is not None and topk is not None:
            raise ValueError(f"{type(self).__name__}: give thr or topk, not both")
        self.thr = 0.5 if thr is None and topk is None else thr
        self.topk = topk
        self.loss_module = build_or_accept(loss, MODELS, nn.Module, "loss", self)

    def pre_logits(self, feats):
        return feats[-1]

    def forward(self, feats):
        return self.pre_logits(feats)

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        cls_score = self(feats)
        num_classes = cls_score.size(-1)
        if "gt_score" in data_samples[0]:
            target = torch.stack([s.gt_score for s in data_samples]).float()
        else:
            target = torch.stack([torch.zeros(num_classes, device=cls_score.device)
                                  .index_fill_(0, s.gt_label.long(), 1) for s in data_samples])
        return {"loss": self.loss_module(cls_score, target, avg_factor=cls_score.size(0), **kwargs)}

    def predict(self, feats, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        scores = torch.sigmoid(self(feats)).detach()
        data_samples = data_samples if data_samples is not None else [None] * scores.size(0)
        out = []
        for sample, score in zip(data_samples, scores):
            sample = DataSample() if sample is None else sample
            if self.thr is not None:
                label = torch.where(score >= self.thr)[0]
            else:
                label = score.topk(self.topk).indices
            sample.set_pred_score(score).set_pred_label(label)
            out.append(sample)
        return out


@MODELS.register_module()
class MultiLabelLinearClsHead(MultiLabelClsHead):
    """A fully connected layer ``fc`` then sigmoids."""

    def __init__(self, num_classes: int, in_channels: int,
                 init_cfg=dict(type="Normal", layer="Linear", std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        self.num_classes, self.in_channels = num_classes, in_channels
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats):
        return self.fc(self.pre_logits(feats))
