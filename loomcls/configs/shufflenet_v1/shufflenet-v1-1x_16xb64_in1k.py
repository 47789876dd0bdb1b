_base_ = [
    '../_base_/models/shufflenet_v1_1x.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

# 16 GPUs x 64 images; the paper's schedule: no weight decay on norm layers, lr held at
# a tenth for 5000 iterations, then a polynomial decay to 0 over 300 epochs
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.00004),
    paramwise_cfg=dict(norm_decay_mult=0))
param_scheduler = [
    dict(type='ConstantLR', factor=0.1, by_epoch=False, begin=0, end=5000),
    dict(type='PolyLR', eta_min=0, by_epoch=False, begin=5000),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
auto_scale_lr = dict(base_batch_size=1024)
