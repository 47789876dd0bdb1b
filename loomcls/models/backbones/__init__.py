"""Backbones, one file per family (registered in loomcls' MODELS)."""

from .base_backbone import BaseBackbone
from .lenet import LeNet5
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet_cifar import ResNet_CIFAR

__all__ = ["BaseBackbone", "LeNet5", "MobileNetV2", "ResNet", "ResNetV1c", "ResNetV1d", "ResNet_CIFAR"]
