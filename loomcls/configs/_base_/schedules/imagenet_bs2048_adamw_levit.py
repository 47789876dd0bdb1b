# AdamW for LeViT: 8 GPUs x 256 images, lr = 5e-4 * 2048 / 512; 5 warm-up epochs, then cosine to 1e-5.
optim_wrapper = dict(
    optimizer=dict(
        type='AdamW',
        lr=0.002,
        weight_decay=0.025,
        eps=1e-8,
        betas=(0.9, 0.999)),
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            '.attention_biases': dict(decay_mult=0.0),
        }),
)

param_scheduler = [
    # warm-up, updated every iteration
    dict(
        type='LinearLR',
        start_factor=1e-6 / 0.002,
        by_epoch=True,
        end=5,
        convert_to_iter_based=True,
    ),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=True, begin=5)
]

train_cfg = dict(by_epoch=True, max_epochs=1000)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=2048)
