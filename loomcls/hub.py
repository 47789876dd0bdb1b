"""The ``mmcls://NAME`` checkpoint table: ImageNet classifiers whose backbones other toolboxes start from.

Declared in :mod:`loomcls.toolbox` (``checkpoint_urls``), so
``init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v3_large')``
works in any config. As in MMEngine, such a checkpoint keeps only its
``backbone.*`` weights with that prefix removed: it loads into a backbone.
"""

from loomcv.checkpoint.urls import UrlTable

_V0 = "https://download.openmmlab.com/mmclassification/v0/"

MMCLS_URLS = UrlTable(take_prefix="backbone.", urls={
    "vgg11": _V0 + "vgg/vgg11_imagenet-01ecd97e.pth",
    "vgg13": _V0 + "vgg/vgg13_imagenet-9ad3945d.pth",
    "vgg16": _V0 + "vgg/vgg16_imagenet-91b6d117.pth",
    "vgg19": _V0 + "vgg/vgg19_imagenet-fee352a8.pth",
    "vgg11_bn": _V0 + "vgg/vgg11_bn_imagenet-6fbbbf3f.pth",
    "vgg13_bn": _V0 + "vgg/vgg13_bn_imagenet-4b5f9390.pth",
    "vgg16_bn": _V0 + "vgg/vgg16_bn_imagenet-3ac6d8fd.pth",
    "vgg19_bn": _V0 + "vgg/vgg19_bn_imagenet-7c058385.pth",
    "resnet18": _V0 + "resnet/resnet18_batch256_imagenet_20200708-34ab8f90.pth",
    "resnet34": _V0 + "resnet/resnet34_batch256_imagenet_20200708-32ffb4f7.pth",
    "resnet50": _V0 + "resnet/resnet50_batch256_imagenet_20200708-cfb998bf.pth",
    "resnet101": _V0 + "resnet/resnet101_batch256_imagenet_20200708-753f3608.pth",
    "resnet152": _V0 + "resnet/resnet152_batch256_imagenet_20200708-ec25b1f9.pth",
    "resnet50_v1d": _V0 + "resnet/resnetv1d50_batch256_imagenet_20200708-1ad0ce94.pth",
    "resnet101_v1d": _V0 + "resnet/resnetv1d101_batch256_imagenet_20200708-9cb302ef.pth",
    "resnet152_v1d": _V0 + "resnet/resnetv1d152_batch256_imagenet_20200708-e79cb6a2.pth",
    "resnext50_32x4d": _V0 + "resnext/resnext50_32x4d_batch256_imagenet_20200708-c07adbb7.pth",
    "resnext101_32x4d": _V0 + "resnext/resnext101_32x4d_batch256_imagenet_20200708-87f2d1c9.pth",
    "resnext101_32x8d": _V0 + "resnext/resnext101_32x8d_batch256_imagenet_20200708-1ec34aa7.pth",
    "resnext152_32x4d": _V0 + "resnext/resnext152_32x4d_batch256_imagenet_20200708-aab5034c.pth",
    "se-resnet50": _V0 + "se-resnet/se-resnet50_batch256_imagenet_20200804-ae206104.pth",
    "se-resnet101": _V0 + "se-resnet/se-resnet101_batch256_imagenet_20200804-ba5b51d4.pth",
    "resnest50": _V0 + "resnest/resnest50_imagenet_converted-1ebf0afe.pth",
    "resnest101": _V0 + "resnest/resnest101_imagenet_converted-032caa52.pth",
    "resnest200": _V0 + "resnest/resnest200_imagenet_converted-581a60f2.pth",
    "resnest269": _V0 + "resnest/resnest269_imagenet_converted-59930960.pth",
    "shufflenet_v1": _V0 + "shufflenet_v1/shufflenet_v1_batch1024_imagenet_20200804-5d6cec73.pth",
    "shufflenet_v2": _V0 + "shufflenet_v2/shufflenet_v2_batch1024_imagenet_20200812-5bf4721e.pth",
    "mobilenet_v2": _V0 + "mobilenet_v2/mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth",
    "mobilenet_v3_small": _V0 + "mobilenet_v3/convert/mobilenet_v3_small-8427ecf0.pth",
    "mobilenet_v3_large": _V0 + "mobilenet_v3/convert/mobilenet_v3_large-3ea3c186.pth",
})
