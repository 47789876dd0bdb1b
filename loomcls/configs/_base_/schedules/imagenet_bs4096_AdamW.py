# ViT pre-training: AdamW, 30 warm-up epochs (per iteration) then cosine to epoch 300.
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr=0.003, weight_decay=0.3),
    # no weight decay on the class token and position embedding
    paramwise_cfg=dict(custom_keys={'.cls_token': dict(decay_mult=0.0), '.pos_embed': dict(decay_mult=0.0)}),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=30, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=270, by_epoch=True, begin=30, end=300),
]
train_cfg = dict(by_epoch=True, max_epochs=300, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=4096)
