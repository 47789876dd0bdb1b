"""Single-label heads: scores -> softmax predictions, and the loss."""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.evaluation.metrics.single_label import Accuracy
from loomcls.registry import MODELS
from loomcls.structures import DataSample
from loomcv.model import BaseModule
from loomcv.registry import build_or_accept
from loomcv.validation import check_positive


@MODELS.register_module()
class ClsHead(BaseModule):
    """A head with no layers: the last feature map already holds the class
    scores (e.g. LeNet5 with num_classes).

    Args:
        loss: loss config or module.
        topk: k values for ``cal_acc``.
        cal_acc: also log training accuracy (not with Mixup/CutMix scores).
    """

    def __init__(self, loss=dict(type="CrossEntropyLoss", loss_weight=1.0), topk=(1,), cal_acc=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.topk = tuple(topk) if isinstance(topk, (list, tuple)) else (topk,)
        self.cal_acc = cal_acc
        self.loss_module = build_or_accept(loss, MODELS, nn.Module, "loss", self)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        """The features right before the final classifier layer."""
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.pre_logits(feats)

    def loss(self, feats, data_samples: List[DataSample], **kwargs) -> dict:
        return self._get_loss(self(feats), data_samples, **kwargs)

    def _get_loss(self, cls_score, data_samples, **kwargs):
        if "gt_score" in data_samples[0]:
            target = torch.stack([s.gt_score for s in data_samples])
        else:
            target = torch.cat([s.gt_label for s in data_samples])
        losses = {"loss": self.loss_module(cls_score, target, avg_factor=cls_score.size(0), **kwargs)}
        if self.cal_acc:
            if target.dim() != 1:
                raise ValueError(f"{type(self).__name__}: cal_acc needs hard labels, but the targets are "
                                 "scores (Mixup/CutMix); set cal_acc=False")
            acc = Accuracy.calculate(cls_score.detach(), target, topk=self.topk, thrs=(None,))
            losses.update({f"accuracy_top-{k}": row[0] for k, row in zip(self.topk, acc)})
        return losses

    def predict(self, feats, data_samples: Optional[List[DataSample]] = None) -> List[DataSample]:
        return self._get_predictions(self(feats), data_samples)

    def _get_predictions(self, cls_score, data_samples):
        scores = F.softmax(cls_score, dim=1).detach()
        labels = scores.argmax(dim=1, keepdim=True)
        data_samples = data_samples if data_samples is not None else [None] * scores.size(0)
        out = []
        for sample, score, label in zip(data_samples, scores, labels):
            sample = DataSample() if sample is None else sample
            sample.set_pred_score(score).set_pred_label(label)
            out.append(sample)
        return out


@MODELS.register_module()
class LinearClsHead(ClsHead):
    """One fully connected layer ``fc`` on the last feature vector."""

    def __init__(self, num_classes: int, in_channels: int,
                 init_cfg=dict(type="Normal", layer="Linear", std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        self.num_classes, self.in_channels = num_classes, in_channels
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats):
        return self.fc(self.pre_logits(feats))


class LinearBlock(BaseModule):
    """Linear, then optional norm, activation and dropout."""

    def __init__(self, in_channels, out_channels, dropout_rate=0.0, norm_cfg=None, act_cfg=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        from loomcv.model.bricks import build_activation_layer, build_norm_layer
        self.fc = nn.Linear(in_channels, out_channels)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1] if norm_cfg is not None else None
        self.act = build_activation_layer(act_cfg) if act_cfg is not None else None
        self.dropout = nn.Dropout(p=dropout_rate) if dropout_rate > 0 else None

    def forward(self, x):
        for layer in (self.fc, self.norm, self.act, self.dropout):
            x = layer(x) if layer is not None else x
        return x


@MODELS.register_module()
class StackedLinearClsHead(ClsHead):
    """Several fully connected layers (``mid_channels`` wide) then the classifier."""

    def __init__(self, num_classes: int, in_channels: int, mid_channels: Sequence[int], dropout_rate=0.0,
                 norm_cfg=None, act_cfg=dict(type="ReLU"), **kwargs):
        super().__init__(**kwargs)
        check_positive(self, "num_classes", num_classes, integer=True)
        if not isinstance(mid_channels, (list, tuple)) or not mid_channels:
            raise TypeError(f"StackedLinearClsHead: mid_channels must be a non-empty list or tuple, "
                            f"got {mid_channels!r}")
        self.num_classes, self.in_channels, self.mid_channels = num_classes, in_channels, tuple(mid_channels)
        widths = [in_channels, *mid_channels]
        self.layers = nn.ModuleList(
            LinearBlock(i, o, dropout_rate=dropout_rate, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for i, o in zip(widths[:-1], widths[1:]))
        self.layers.append(LinearBlock(widths[-1], num_classes))

    def pre_logits(self, feats):
        x = feats[-1]
        for layer in self.layers[:-1]:
            x = layer(x)
        return x

    @property
    def fc(self):
        return self.layers[-1]

    def forward(self, feats):
        return self.fc(self.pre_logits(feats))
