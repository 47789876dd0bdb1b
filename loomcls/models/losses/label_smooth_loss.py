"""Cross-entropy against smoothed targets (Szegedy et al., 2016)."""

import warnings

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.validation import check, check_choice
from .cross_entropy_loss import CrossEntropyLoss
from .weighted import to_one_hot

MODES = ("original", "classy_vision", "multi_label")


@MODELS.register_module()
class LabelSmoothLoss(nn.Module):
    """Label smoothing.

    With smoothing value ``e`` and ``C`` classes a one-hot target becomes:

    - ``original``: ``onehot * (1 - e) + e / C``;
    - ``classy_vision``: the same with ``e' = e / (1 + e)``, i.e.
      ``(onehot + e / C) / (1 + e)`` (ClassyVision's definition);
    - ``multi_label``: positives ``1 - e``, negatives ``e``, with sigmoid BCE.
    """

    def __init__(self, label_smooth_val, num_classes=None, use_sigmoid=None, mode="original",
                 reduction="mean", loss_weight=1.0, class_weight=None, pos_weight=None):
        super().__init__()
        check(0 <= label_smooth_val < 1, self, f"label_smooth_val must be in [0, 1), got {label_smooth_val}")
        check_choice(self, "mode", mode, MODES)
        self.num_classes = num_classes
        self.label_smooth_val = label_smooth_val
        self.mode = mode
        self.loss_weight = loss_weight
        self._eps = label_smooth_val / (1 + label_smooth_val) if mode == "classy_vision" else label_smooth_val
        if mode == "multi_label":
            if use_sigmoid is False:
                warnings.warn("LabelSmoothLoss: mode 'multi_label' needs use_sigmoid=True; using it", stacklevel=2)
            use_sigmoid = True
        use_sigmoid = bool(use_sigmoid)
        self.ce = CrossEntropyLoss(use_sigmoid=use_sigmoid, use_soft=not use_sigmoid, reduction=reduction,
                                   class_weight=class_weight, pos_weight=pos_weight)

    def smooth_label(self, one_hot):
        one_hot = one_hot.float()
        if self.mode == "multi_label":
            return one_hot * (1 - self._eps) + (1 - one_hot) * self._eps
        return one_hot * (1 - self._eps) + self._eps / one_hot.shape[-1]

    def forward(self, cls_score, label, weight=None, avg_factor=None, reduction_override=None, **kwargs):
        num_classes = cls_score.shape[1]
        if self.num_classes is not None and self.num_classes != num_classes:
            raise ValueError(f"LabelSmoothLoss: num_classes={self.num_classes} but the scores have "
                             f"{num_classes} classes")
        target = self.smooth_label(to_one_hot(label, num_classes))
        loss = self.ce(cls_score, target, weight=weight, avg_factor=avg_factor,
                       reduction_override=reduction_override, **kwargs)
        return self.loss_weight * loss
