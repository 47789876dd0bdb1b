# DINOv2 ViT-base/14 feature extractor (no head): 518 px inputs, layer scale 1e-5.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch='base',
        img_size=518,
        patch_size=14,
        layer_scale_init_value=1e-5,
    ),
    neck=None,
    head=None)

data_preprocessor = dict(
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True,  # images are read as BGR
)
