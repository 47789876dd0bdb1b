"""ClsDataPreprocessor: ImgDataPreprocessor plus classification labels
(one-hot scores) and batch augments (Mixup, CutMix)."""

from collections.abc import Mapping
from typing import Optional, Sequence

import torch
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import ImgDataPreprocessor
from .batch_augments import RandomBatchAugment


def labels_to_scores(labels, num_classes: int) -> torch.Tensor:
    """(C,) multi-hot score of one sample's label tensor (one or several indices)."""
    labels = labels.long().reshape(-1)
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"label {labels.tolist()} out of range for num_classes={num_classes}")
    return F.one_hot(labels, num_classes).sum(0).clamp(max=1).float()


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Args:
        mean, std: per channel, 0-255 scale.
        to_rgb: swap BGR to RGB on 3-channel images.
        pad_size_divisor, pad_value: as ImgDataPreprocessor.
        to_onehot: also store each label as a one-hot ``gt_score``.
        num_classes: needed for one-hot scores (and so for batch augments);
            else taken from the data samples' ``num_classes`` meta.
        batch_augments: ``dict(augments=[dict(type='Mixup', alpha=0.8), ...],
            probs=None)``, applied in training only; implies ``to_onehot``.
    """

    def __init__(self, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 pad_size_divisor: int = 1, pad_value=0, to_rgb: bool = False, to_onehot: bool = False,
                 num_classes: Optional[int] = None, batch_augments: Optional[Mapping] = None,
                 non_blocking: bool = False):
        super().__init__(mean=mean, std=std, pad_size_divisor=pad_size_divisor, pad_value=pad_value,
                         bgr_to_rgb=to_rgb, non_blocking=non_blocking)
        self.to_onehot, self.num_classes = to_onehot, num_classes
        self.batch_augments = None
        if batch_augments:
            if not isinstance(batch_augments, Mapping) or "augments" not in batch_augments:
                raise ValueError("ClsDataPreprocessor: batch_augments must be dict(augments=[...], "
                                 f"probs=None), got {batch_augments!r}")
            self.batch_augments = RandomBatchAugment(**batch_augments)
            self.to_onehot = True

    def _num_classes(self, data_samples) -> int:
        if self.num_classes is not None:
            return self.num_classes
        found = data_samples[0].metainfo.get("num_classes") if hasattr(data_samples[0], "metainfo") else None
        if found is None:
            raise ValueError("ClsDataPreprocessor: num_classes is needed for one-hot scores and batch "
                             "augments; set model.data_preprocessor.num_classes")
        return found

    def forward(self, data: Mapping, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs, samples = data["inputs"], data.get("data_samples")
        if not samples or not (self.to_onehot or "gt_score" in samples[0]):
            return data
        if "gt_score" in samples[0]:
            scores = torch.stack([s.gt_score for s in samples]).float()
        elif "gt_label" in samples[0]:
            num_classes = self._num_classes(samples)
            scores = torch.stack([labels_to_scores(s.gt_label, num_classes) for s in samples]).to(inputs.device)
        else:
            return data
        if training and self.batch_augments is not None:
            inputs, scores = self.batch_augments(inputs, scores)
        for sample, score in zip(samples, scores):
            sample.set_gt_score(score)
        data["inputs"] = inputs
        return data
