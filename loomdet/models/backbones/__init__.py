"""Backbones registered in loomdet's MODELS.

``Darknet`` is detection's own. ``ResNet``, ``ResNetV1d`` and ``MobileNetV2``
are loomcls' networks, subclassed only for what MMDetection's versions take
or name differently (see their modules), so that MMDetection configs with
``type='ResNet'`` under ``default_scope='mmdet'`` build them with
MMDetection's state-dict keys. Any other loomcls backbone is reachable as
``type='mmcls.<Name>'`` (or ``'loomcls.<Name>'``).
"""

from .darknet import Darknet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet, ResNetV1d

__all__ = ["Darknet", "MobileNetV2", "ResNet", "ResNetV1d"]
