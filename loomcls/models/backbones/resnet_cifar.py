"""ResNet for 32x32 images: a 3x3 stride-1 stem and no max pooling."""

from loomcls.registry import MODELS
from .resnet import ResNet


@MODELS.register_module()
class ResNet_CIFAR(ResNet):
    """Same arguments as ResNet (``deep_stem`` is not supported)."""

    stem_kernel, stem_stride, stem_pool = 3, 1, False

    def __init__(self, depth, deep_stem=False, **kwargs):
        if deep_stem:
            raise ValueError("ResNet_CIFAR: deep_stem is not supported")
        super().__init__(depth, deep_stem=False, **kwargs)
