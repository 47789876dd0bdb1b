# SGD for 300 epochs (batch 256): 5 warm-up epochs, cosine learning rate and cosine weight decay.
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.0001))

param_scheduler = [
    # warm-up, updated every iteration
    dict(type='LinearLR', start_factor=0.001, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=295, eta_min=1.0e-6, by_epoch=True, begin=5, end=300),
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', eta_min=0.00001, by_epoch=True,
         begin=0, end=300),
]

train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
