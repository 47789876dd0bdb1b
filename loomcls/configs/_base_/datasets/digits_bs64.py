# The UCI digits embedded in loomcls: 1,437 train / 360 test 8x8 grey images,
# resized to 32x32. mean/std are those of the training split (0-255 scale).
dataset_type = 'Digits'
data_preprocessor = dict(num_classes=10, mean=[77.85], std=[82.44], to_rgb=False)

train_pipeline = [
    dict(type='Resize', scale=32),
    dict(type='RandomCrop', crop_size=32, padding=2),  # shifts of up to 2 pixels
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=32),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=0,
    dataset=dict(type=dataset_type, split='train', pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=0,
    dataset=dict(type=dataset_type, split='test', pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
