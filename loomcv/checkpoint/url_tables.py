"""The engine's checkpoint name -> URL tables (data only; the logic is in :mod:`.urls`).

``torchvision://NAME`` uses torchvision's published weight URLs: the
``model_urls`` names of torchvision 0.12 (``resnet50``) and the weight-enum
names of later versions (``resnet50.imagenet1k_v1``, also written
``ResNet50_Weights.IMAGENET1K_V1``). ``open-mmlab://NAME`` (or
``openmmlab://NAME``) uses OpenMMLab's table of third-party backbone weights.
Toolboxes add their own schemes (``mmcls://``) through their declaration.
"""

_TV = "https://download.pytorch.org/models/"

TORCHVISION_URLS = {
    "resnet18": _TV + "resnet18-f37072fd.pth",
    "resnet34": _TV + "resnet34-b627a593.pth",
    "resnet50": _TV + "resnet50-0676ba61.pth",
    "resnet101": _TV + "resnet101-63fe2227.pth",
    "resnet152": _TV + "resnet152-394f9c45.pth",
    "resnext50_32x4d": _TV + "resnext50_32x4d-7cdf4587.pth",
    "resnext101_32x8d": _TV + "resnext101_32x8d-8ba56ff5.pth",
    "wide_resnet50_2": _TV + "wide_resnet50_2-95faca4d.pth",
    "wide_resnet101_2": _TV + "wide_resnet101_2-32ee1156.pth",
    "vgg11": _TV + "vgg11-8a719046.pth",
    "vgg13": _TV + "vgg13-19584684.pth",
    "vgg16": _TV + "vgg16-397923af.pth",
    "vgg19": _TV + "vgg19-dcbb9e9d.pth",
    "vgg11_bn": _TV + "vgg11_bn-6002323d.pth",
    "vgg13_bn": _TV + "vgg13_bn-abd245e5.pth",
    "vgg16_bn": _TV + "vgg16_bn-6c64b313.pth",
    "vgg19_bn": _TV + "vgg19_bn-c79401a0.pth",
    "mobilenet_v2": _TV + "mobilenet_v2-b0353104.pth",
    "mobilenet_v3_large": _TV + "mobilenet_v3_large-8738ca79.pth",
    "mobilenet_v3_small": _TV + "mobilenet_v3_small-047dcff4.pth",
}

# weight-enum names (torchvision >= 0.13): <model>.<weights>, and <model>.default
TORCHVISION_URLS.update({
    "resnet18.imagenet1k_v1": TORCHVISION_URLS["resnet18"],
    "resnet18.default": TORCHVISION_URLS["resnet18"],
    "resnet34.imagenet1k_v1": TORCHVISION_URLS["resnet34"],
    "resnet34.default": TORCHVISION_URLS["resnet34"],
    "resnet50.imagenet1k_v1": TORCHVISION_URLS["resnet50"],
    "resnet50.imagenet1k_v2": _TV + "resnet50-11ad3fa6.pth",
    "resnet50.default": _TV + "resnet50-11ad3fa6.pth",
    "resnet101.imagenet1k_v1": TORCHVISION_URLS["resnet101"],
    "resnet101.imagenet1k_v2": _TV + "resnet101-cd907fc2.pth",
    "resnet101.default": _TV + "resnet101-cd907fc2.pth",
    "resnet152.imagenet1k_v1": TORCHVISION_URLS["resnet152"],
    "resnet152.imagenet1k_v2": _TV + "resnet152-f82ba261.pth",
    "resnet152.default": _TV + "resnet152-f82ba261.pth",
    "resnext50_32x4d.imagenet1k_v1": TORCHVISION_URLS["resnext50_32x4d"],
    "resnext101_32x8d.imagenet1k_v1": TORCHVISION_URLS["resnext101_32x8d"],
    "wide_resnet50_2.imagenet1k_v1": TORCHVISION_URLS["wide_resnet50_2"],
    "wide_resnet101_2.imagenet1k_v1": TORCHVISION_URLS["wide_resnet101_2"],
    "mobilenet_v2.imagenet1k_v1": TORCHVISION_URLS["mobilenet_v2"],
    "mobilenet_v3_large.imagenet1k_v1": TORCHVISION_URLS["mobilenet_v3_large"],
    "mobilenet_v3_small.imagenet1k_v1": TORCHVISION_URLS["mobilenet_v3_small"],
    "mobilenet_v3_small.default": TORCHVISION_URLS["mobilenet_v3_small"],
})

_OM = "https://download.openmmlab.com/pretrain/third_party/"

OPENMMLAB_URLS = {
    "vgg16_caffe": _OM + "vgg16_caffe-292e1171.pth",
    "detectron/resnet50_caffe": _OM + "resnet50_caffe-788b5fa3.pth",
    "detectron2/resnet50_caffe": _OM + "resnet50_msra-5891d200.pth",
    "detectron/resnet101_caffe": _OM + "resnet101_caffe-3ad79236.pth",
    "detectron2/resnet101_caffe": _OM + "resnet101_msra-6cc46731.pth",
    "detectron2/resnext101_32x8d": _OM + "resnext101_32x8d-1516f1aa.pth",
    "resnext50_32x4d": _OM + "resnext50-32x4d-0ab1a123.pth",
    "resnext101_32x4d": _OM + "resnext101_32x4d-a5af3160.pth",
    "resnext101_64x4d": _OM + "resnext101_64x4d-ee2c6f71.pth",
    "contrib/resnet50_gn": _OM + "resnet50_gn_thangvubk-ad1730dd.pth",
    "detectron/resnet50_gn": _OM + "resnet50_gn-9186a21c.pth",
    "detectron/resnet101_gn": _OM + "resnet101_gn-cac0ab98.pth",
    "jhu/resnet50_gn_ws": _OM + "resnet50_gn_ws-15beedd8.pth",
    "jhu/resnet101_gn_ws": _OM + "resnet101_gn_ws-3e3c308c.pth",
    "jhu/resnext50_32x4d_gn_ws": _OM + "resnext50_32x4d_gn_ws-0d87ac85.pth",
    "jhu/resnext101_32x4d_gn_ws": _OM + "resnext101_32x4d_gn_ws-34ac1a9e.pth",
    "jhu/resnext50_32x4d_gn": _OM + "resnext50_32x4d_gn-c7e8b754.pth",
    "jhu/resnext101_32x4d_gn": _OM + "resnext101_32x4d_gn-ac3bb84e.pth",
    "msra/hrnetv2_w18_small": _OM + "hrnetv2_w18_small-b5a04e21.pth",
    "msra/hrnetv2_w18": _OM + "hrnetv2_w18-00eb2006.pth",
    "msra/hrnetv2_w32": _OM + "hrnetv2_w32-dc9eeb4f.pth",
    "msra/hrnetv2_w40": _OM + "hrnetv2_w40-ed0b031c.pth",
    "msra/hrnetv2_w48": _OM + "hrnetv2_w48-d2186c55.pth",
    "bninception_caffe": _OM + "bn_inception_caffe-ed2e8665.pth",
    "kin400/i3d_r50_f32s2_k400": _OM + "i3d_r50_f32s2_k400-2c57e077.pth",
    "kin400/nl3d_r50_f32s2_k400": _OM + "nl3d_r50_f32s2_k400-fa7e7caa.pth",
    "res2net101_v1d_26w_4s": _OM + "res2net101_v1d_26w_4s_mmdetv2-f0a600f9.pth",
    "regnetx_400mf": _OM + "regnetx_400mf-a5b10d96.pth",
    "regnetx_800mf": _OM + "regnetx_800mf-1f4be4c7.pth",
    "regnetx_1.6gf": _OM + "regnetx_1.6gf-5791c176.pth",
    "regnetx_3.2gf": _OM + "regnetx_3.2gf-c2599b0f.pth",
    "regnetx_4.0gf": _OM + "regnetx_4.0gf-a88f671e.pth",
    "regnetx_6.4gf": _OM + "regnetx_6.4gf-006af45d.pth",
    "regnetx_8.0gf": _OM + "regnetx_8.0gf-3c68abe7.pth",
    "regnetx_12gf": _OM + "regnetx_12gf-4c2a3350.pth",
    "resnet18_v1c": _OM + "resnet18_v1c-b5776b93.pth",
    "resnet50_v1c": _OM + "resnet50_v1c-2cccc1ad.pth",
    "resnet101_v1c": _OM + "resnet101_v1c-e67eebb6.pth",
    "mmedit/vgg16": "https://download.openmmlab.com/mmediting/third_party/vgg_state_dict.pth",
    "mmedit/res34_en_nomixup":
        "https://download.openmmlab.com/mmediting/third_party/model_best_resnet34_En_nomixup.pth",
    "mmedit/mobilenet_v2": "https://download.openmmlab.com/mmediting/third_party/mobilenet_v2.pth",
    "contrib/mobilenet_v3_large": _OM + "mobilenet_v3_large-bc2c3fd3.pth",
    "contrib/mobilenet_v3_small": _OM + "mobilenet_v3_small-47085aa1.pth",
    "resnest50": _OM + "resnest50_d2-7497a55b.pth",
    "resnest101": _OM + "resnest101_d2-f3b931b2.pth",
    "resnest200": _OM + "resnest200_d2-ca88e41f.pth",
    "darknet53": _OM + "darknet53-a628ea1b.pth",
    "mmdet/mobilenet_v2":
        "https://download.openmmlab.com/mmdetection/v2.0/third_party/mobilenet_v2_batch256_imagenet-ff34753d.pth",
}

#: old open-mmlab:// names and the names they became (loading an old one warns)
OPENMMLAB_RENAMED = {
    "resnet50_caffe": "detectron/resnet50_caffe",
    "resnet50_caffe_bgr": "detectron2/resnet50_caffe",
    "resnet101_caffe": "detectron/resnet101_caffe",
    "resnet101_caffe_bgr": "detectron2/resnet101_caffe",
}
