"""Backbones, one file per family (registered in loomcls' MODELS)."""

from .base_backbone import BaseBackbone
from .beit import BEiTViT
from .conformer import Conformer
from .convmixer import ConvMixer
from .convnext import ConvNeXt
from .cspnet import CSPDarkNet, CSPResNet, CSPResNeXt
from .davit import DaViT
from .deit import DistilledVisionTransformer
from .deit3 import DeiT3
from .densenet import DenseNet
from .edgenext import EdgeNeXt
from .efficientformer import EfficientFormer
from .efficientnet import EfficientNet
from .efficientnet_v2 import EfficientNetV2
from .hornet import HorNet
from .hrnet import HRNet
from .inception_v3 import InceptionV3
from .lenet import LeNet5
from .levit import LeViT
from .mlp_mixer import MlpMixer
from .mobilenet_v2 import MobileNetV2
from .mobilenet_v3 import MobileNetV3
from .mobileone import MobileOne
from .mobilevit import MobileViT
from .poolformer import PoolFormer
from .regnet import RegNet
from .repvgg import RepVGG
from .res2net import Res2Net
from .resnest import ResNeSt
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet_cifar import ResNet_CIFAR
from .resnext import ResNeXt
from .riformer import RIFormer
from .seresnet import SEResNet
from .seresnext import SEResNeXt
from .shufflenet_v1 import ShuffleNetV1
from .shufflenet_v2 import ShuffleNetV2
from .swin_transformer import SwinTransformer
from .swin_transformer_v2 import SwinTransformerV2
from .t2t_vit import T2T_ViT
from .tinyvit import TinyViT
from .tnt import TNT
from .twins import PCPVT, SVT
from .van import VAN
from .vgg import VGG
from .vision_transformer import VisionTransformer
from .vit_eva02 import ViTEVA02
from .xcit import XCiT

__all__ = [
    "BaseBackbone", "BEiTViT", "Conformer", "ConvMixer", "ConvNeXt", "CSPDarkNet", "CSPResNet", "CSPResNeXt",
    "DaViT", "DistilledVisionTransformer", "DeiT3", "DenseNet", "EdgeNeXt", "EfficientFormer", "EfficientNet",
    "EfficientNetV2", "HorNet", "HRNet", "InceptionV3", "LeNet5", "LeViT", "MlpMixer", "MobileNetV2", "MobileNetV3",
    "MobileOne", "MobileViT", "PoolFormer", "RegNet", "RepVGG", "Res2Net", "ResNeSt", "ResNet", "ResNetV1c",
    "ResNetV1d", "ResNet_CIFAR", "ResNeXt", "RIFormer", "SEResNet", "SEResNeXt", "ShuffleNetV1", "ShuffleNetV2",
    "SwinTransformer", "SwinTransformerV2", "T2T_ViT", "TinyViT", "TNT", "PCPVT", "SVT", "VAN", "VGG",
    "VisionTransformer", "ViTEVA02", "XCiT",
]
