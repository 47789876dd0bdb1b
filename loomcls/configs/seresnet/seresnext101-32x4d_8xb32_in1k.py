_base_ = [
    '../_base_/models/seresnext101_32x4d.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

# 140 epochs, lr divided by 10 at epochs 40, 80 and 120
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[40, 80, 120], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=140)
