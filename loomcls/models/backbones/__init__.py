"""Backbones, one file per family (registered in loomcls' MODELS)."""

from .base_backbone import BaseBackbone
from .conformer import Conformer
from .convmixer import ConvMixer
from .convnext import ConvNeXt
from .davit import DaViT
from .deit import DistilledVisionTransformer
from .densenet import DenseNet
from .edgenext import EdgeNeXt
from .efficientformer import EfficientFormer
from .efficientnet import EfficientNet
from .efficientnet_v2 import EfficientNetV2
from .hornet import HorNet
from .hrnet import HRNet
from .inception_v3 import InceptionV3
from .lenet import LeNet5
from .mlp_mixer import MlpMixer
from .mobilenet_v2 import MobileNetV2
from .mobilenet_v3 import MobileNetV3
from .mobilevit import MobileViT
from .poolformer import PoolFormer
from .regnet import RegNet
from .res2net import Res2Net
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet_cifar import ResNet_CIFAR
from .resnest import ResNeSt
from .resnext import ResNeXt
from .riformer import RIFormer
from .seresnet import SEResNet
from .seresnext import SEResNeXt
from .shufflenet_v1 import ShuffleNetV1
from .shufflenet_v2 import ShuffleNetV2
from .swin_transformer import SwinTransformer
from .t2t_vit import T2T_ViT
from .tnt import TNT
from .twins import PCPVT, SVT
from .van import VAN
from .vgg import VGG
from .vision_transformer import VisionTransformer
from .xcit import XCiT

__all__ = ["BaseBackbone", "LeNet5", "MobileNetV2", "MobileNetV3", "RegNet", "Res2Net", "ResNeXt", "ResNet",
           "ResNetV1c", "ResNetV1d", "ResNet_CIFAR", "SEResNeXt", "SEResNet", "ShuffleNetV1", "ShuffleNetV2",
           "SwinTransformer", "VGG", "VisionTransformer"]

__all__ += ["ConvMixer", "ConvNeXt", "DenseNet", "EdgeNeXt", "EfficientNet", "EfficientNetV2", "HRNet",
            "InceptionV3", "MlpMixer", "PoolFormer"]

__all__ += ["Conformer", "DaViT", "DistilledVisionTransformer", "EfficientFormer",
            "HorNet", "MobileViT", "PCPVT", "ResNeSt", "RIFormer",
            "SVT", "T2T_ViT", "TNT", "VAN", "XCiT"]
