from .cls_head import ClsHead, LinearClsHead, StackedLinearClsHead
from .multi_label_cls_head import MultiLabelClsHead, MultiLabelLinearClsHead
from .vision_transformer_head import VisionTransformerClsHead

__all__ = ["ClsHead", "LinearClsHead", "StackedLinearClsHead", "MultiLabelClsHead", "MultiLabelLinearClsHead"]
__all__ += ["VisionTransformerClsHead"]
from .levit_head import LeViTClsHead  # noqa: E402
from .deit_head import DeiTClsHead  # noqa: E402

__all__ += ["LeViTClsHead", "DeiTClsHead"]
