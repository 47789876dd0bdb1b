# Fine-tune an ImageNet ResNet-50 on your own class folders (the MMClassification 0.x tutorial, chapter 7):
# the backbone starts from a checkpoint (prefix='backbone' keeps only its weights),
# the first two stages stay frozen, the head is new (num_classes), the lr is small.
# Set the checkpoint path and data_root, e.g.
#   loomcv train resnet50_8xb32-ft_custom --cfg-options \
#     model.backbone.init_cfg.checkpoint=resnet50.pth train_dataloader.dataset.data_root=data/my_set/train \
#     val_dataloader.dataset.data_root=data/my_set/val model.head.num_classes=5
_base_ = [
    '../_base_/models/resnet50.py', '../_base_/datasets/imagenet_bs32.py',
    '../_base_/schedules/imagenet_bs256.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(
        frozen_stages=2,
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/resnet50_8xb32_in1k.pth', prefix='backbone')),
    head=dict(num_classes=5, topk=(1, )),
)

data_preprocessor = dict(num_classes=5)
train_dataloader = dict(dataset=dict(type='CustomDataset', data_root='data/custom/train', _delete_=True,
                                     pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(type='CustomDataset', data_root='data/custom/val', _delete_=True,
                                   pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[15], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=20, val_interval=1)
default_hooks = dict(logger=dict(type='LoggerHook', interval=10))
