from .cls_head import ClsHead, LinearClsHead, StackedLinearClsHead
from .conformer_head import ConformerHead
from .deit_head import DeiTClsHead
from .efficientformer_head import EfficientFormerClsHead
from .levit_head import LeViTClsHead
from .multi_label_cls_head import MultiLabelClsHead, MultiLabelLinearClsHead
from .vision_transformer_head import VisionTransformerClsHead

__all__ = ["ClsHead", "LinearClsHead", "StackedLinearClsHead", "MultiLabelClsHead", "MultiLabelLinearClsHead",
           "VisionTransformerClsHead", "LeViTClsHead", "DeiTClsHead", "ConformerHead", "EfficientFormerClsHead"]
