"""ImageClassifier: backbone -> (neck) -> head."""

from collections.abc import Mapping
from typing import List, Optional

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModel
from loomcv.registry import build_or_accept
from loomcv.validation import check_choice

STAGES = ("backbone", "neck", "pre_logits")
MODES = ("loss", "predict", "tensor")


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """An image classifier.

    Args:
        backbone, neck, head: configs (or modules); neck and head are optional.
        pretrained: shortcut for ``init_cfg=dict(type='Pretrained', checkpoint=...)``.
        train_cfg: ``dict(augments=[...])`` becomes the preprocessor's batch_augments.
        data_preprocessor: config; ``type`` defaults to 'ClsDataPreprocessor'.
    """

    def __init__(self, backbone, neck=None, head=None, pretrained: Optional[str] = None, train_cfg=None,
                 data_preprocessor=None, init_cfg=None):
        if pretrained is not None:
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        if data_preprocessor is None or isinstance(data_preprocessor, Mapping):
            data_preprocessor = dict(data_preprocessor or {})
            data_preprocessor.setdefault("type", "ClsDataPreprocessor")
            if train_cfg is not None and "augments" in train_cfg:
                data_preprocessor.setdefault("batch_augments", dict(train_cfg))
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if backbone is None:
            raise TypeError("ImageClassifier needs a backbone")
        self.backbone = build_or_accept(backbone, MODELS, nn.Module, "backbone", self)
        if isinstance(neck, (list, tuple)):  # several necks in turn (as MMEngine builds a list of configs)
            neck = nn.Sequential(*[build_or_accept(n, MODELS, nn.Module, f"neck[{i}]", self)
                                   for i, n in enumerate(neck)])
        neck = build_or_accept(neck, MODELS, nn.Module, "neck", self, allow_none=True)
        head = build_or_accept(head, MODELS, nn.Module, "head", self, allow_none=True)
        if neck is not None:
            self.neck = neck
        if head is not None:
            self.head = head

    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    @property
    def with_head(self) -> bool:
        return getattr(self, "head", None) is not None

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = "tensor"):
        if mode == "tensor":
            feats = self.extract_feat(inputs)
            return self.head(feats) if self.with_head else feats
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        check_choice("ImageClassifier.forward", "mode", mode, MODES)
        raise AssertionError("unreachable")  # every valid mode returned above

    def extract_feat(self, inputs: torch.Tensor, stage: str = "neck"):
        """Features after the 'backbone', the 'neck' (default) or the head's 'pre_logits'."""
        check_choice("ImageClassifier.extract_feat", "stage", stage, STAGES)
        x = self.backbone(inputs)
        if stage == "backbone":
            return x
        if self.with_neck:
            x = self.neck(x)
        if stage == "neck":
            return x
        if not (self.with_head and hasattr(self.head, "pre_logits")):
            raise ValueError("ImageClassifier.extract_feat(stage='pre_logits') needs a head with pre_logits")
        return self.head.pre_logits(x)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> dict:
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None, **kwargs) -> List:
        return self.head.predict(self.extract_feat(inputs), data_samples, **kwargs)

    def get_layer_depth(self, param_name: str):
        """(depth, number of depths) of a parameter for layer-wise lr decay, from the backbone."""
        if not hasattr(self.backbone, "get_layer_depth"):
            raise NotImplementedError(f"ImageClassifier.get_layer_depth: the backbone {type(self.backbone).__name__} "
                                      "has no get_layer_depth(param_name, prefix)")
        return self.backbone.get_layer_depth(param_name, "backbone.")
