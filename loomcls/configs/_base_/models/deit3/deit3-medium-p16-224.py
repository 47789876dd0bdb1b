# DeiT III-medium/16 at 224 px for ImageNet-1k.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='DeiT3',
        arch='m',
        img_size=224,
        patch_size=16,
        drop_path_rate=0.2),
    neck=None,
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=1000,
        in_channels=512,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
    ),
    init_cfg=[
        dict(type='TruncNormal', layer='Linear', std=.02),
        dict(type='Constant', layer='LayerNorm', val=1., bias=0.),
    ],
    train_cfg=dict(augments=[
        dict(type='Mixup', alpha=0.8),
        dict(type='CutMix', alpha=1.0)
    ]))
