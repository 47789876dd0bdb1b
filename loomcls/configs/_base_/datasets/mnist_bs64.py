# MNIST IDX files under data_root (see loomcls.datasets.MNIST); 28x28 resized to 32x32.
dataset_type = 'MNIST'
data_preprocessor = dict(num_classes=10, mean=[33.46], std=[78.87], to_rgb=False)

pipeline = [dict(type='Resize', scale=32), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root='data/mnist', split='train', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)
val_dataloader = dict(
    batch_size=128,
    num_workers=2,
    dataset=dict(type=dataset_type, data_root='data/mnist', split='test', pipeline=pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
val_evaluator = dict(type='Accuracy', topk=(1, ))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
