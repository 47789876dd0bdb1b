# YOLOv3 with a narrow MobileNetV2 (seed 000's model) on the embedded digits
# detection set: 10 classes, 2-5 digits per 96x96 canvas, no download.
# Sized to train on 2 CPU cores in about five minutes (benchmarks/det_map_curve.py
# prints the mAP-versus-time curve): the canvases are fed at their own size
# (96x96: downscaling the 8x8-bitmap digits loses the strokes that tell them
# apart), widen_factor 0.5, 48-channel neck and head, anchors clustered from
# the training boxes (12-28 px), batch 16 with AdamW (more updates per second
# than batch 32 on a CPU, where a step costs about the same either way).
_base_ = ['../_base_/default_runtime.py']

input_size = (96, 96)
data_preprocessor = dict(
    type='DetDataPreprocessor',
    mean=[0, 0, 0],
    std=[255., 255., 255.],
    bgr_to_rgb=True,
    pad_size_divisor=32)
model = dict(
    type='YOLOV3',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MobileNetV2',
        widen_factor=0.5,
        out_indices=(2, 4, 6),
        act_cfg=dict(type='LeakyReLU', negative_slope=0.1)),
    neck=dict(
        type='YOLOV3Neck',
        num_scales=3,
        in_channels=[160, 48, 16],  # layer7, layer5, layer3 at widen_factor 0.5
        out_channels=[48, 48, 48]),
    bbox_head=dict(
        type='YOLOV3Head',
        num_classes=10,
        in_channels=[48, 48, 48],
        out_channels=[48, 48, 48],
        anchor_generator=dict(
            type='YOLOAnchorGenerator',
            base_sizes=[[(21, 26), (20, 27), (23, 27)],
                        [(18, 22), (17, 25), (20, 25)],
                        [(10, 14), (13, 17), (15, 20)]],
            strides=[32, 16, 8]),
        bbox_coder=dict(type='YOLOBBoxCoder'),
        featmap_strides=[32, 16, 8],
        loss_cls=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=1.0,
            reduction='sum'),
        loss_conf=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=1.0,
            reduction='sum'),
        loss_xy=dict(
            type='CrossEntropyLoss',
            use_sigmoid=True,
            loss_weight=2.0,
            reduction='sum'),
        loss_wh=dict(type='MSELoss', loss_weight=2.0, reduction='sum')),
    train_cfg=dict(
        assigner=dict(
            type='GridAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        conf_thr=0.005,
        nms=dict(type='nms', iou_threshold=0.45),
        max_per_img=100))

dataset_type = 'DigitsDetDataset'
data_root = 'data/digits_det_96/'  # generated on first use, then reused
# 96x96 canvases of digits upscaled 1.5x-3.5x (12-28 px): 1000 train, 200 val
digits = dict(img_size=96, scale_range=(1.5, 3.5))
# no flips: a mirrored digit is another digit, or none
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=input_size, keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=input_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', **digits, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        **digits,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric='bbox')
test_evaluator = val_evaluator

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=0.005, weight_decay=0.0005),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, T_max=max_epochs, eta_min=1e-5)
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4))
randomness = dict(seed=0)
auto_scale_lr = dict(base_batch_size=16)
