"""SE-ResNeXt: ResNeXt's grouped bottlenecks with SE-ResNet's gates."""

from loomcls.registry import MODELS
from .resnext import GroupedBottlenecks
from .seresnet import SEResNet


@MODELS.register_module()
class SEResNeXt(GroupedBottlenecks, SEResNet):
    """SE-ResNeXt: SEResNet's arguments plus ResNeXt's ``groups`` and ``width_per_group``."""
