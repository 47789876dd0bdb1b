_base_ = ['./regnetx-400mf_8xb128_in1k.py']

model = dict(backbone=dict(arch='regnetx_3.2gf'), head=dict(in_channels=1008))
# 8 GPUs x 64 images: half the batch, half the lr
train_dataloader = dict(batch_size=64)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=0.4))
auto_scale_lr = dict(base_batch_size=512)
