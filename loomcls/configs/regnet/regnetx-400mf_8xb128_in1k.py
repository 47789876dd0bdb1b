_base_ = [
    '../_base_/models/regnet/regnetx_400mf.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

# The released RegNet checkpoints (from pycls) expect BGR inputs.
data_preprocessor = dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], to_rgb=False)

# PCA lighting noise in BGR order, on the 0-255 value range
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='Lighting', eigval=[0.2175, 0.0188, 0.0045],
         eigvec=[[-0.5836, -0.6948, 0.4203], [-0.5808, -0.0045, -0.814], [-0.5675, 0.7192, 0.4009]],
         alphastd=25.5, to_rgb=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(batch_size=128, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

# 8 GPUs x 128 images: SGD with nesterov at lr 0.8, 5 warm-up epochs, then cosine to 0 at epoch 100
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.8, momentum=0.9, weight_decay=0.00005, nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=95, by_epoch=True, begin=5, end=100),
]
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024)
