# The released checkpoints (converted from the Res2Net authors) use the 7x7 stem and strided shortcuts.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='Res2Net', depth=50, scales=8, base_width=26, deep_stem=False, avg_down=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=1000, in_channels=2048,
              loss=dict(type='CrossEntropyLoss', loss_weight=1.0), topk=(1, 5)))
