"""SwitchRecipeHook: the train pipeline, batch augments and loss change before the scheduled epoch,
and a resumed run replays earlier switches."""

import types

import pytest
import torch
from torch.utils.data import DataLoader

from loomcls.engine import SwitchRecipeHook
from loomcls.registry import MODELS
from loomcv.dataset import BaseDataset
from loomcv.errors import ConfigError
from loomcv.registry import DefaultScope


class Points(BaseDataset):
    def load_data_list(self):
        return [dict(img=torch.zeros(3, 4, 4).numpy().transpose(1, 2, 0), gt_label=0) for _ in range(4)]


def _runner(epoch=0, resume=False):
    model = MODELS.build(dict(type="ImageClassifier", backbone=dict(type="LeNet5", num_classes=2),
                              head=dict(type="ClsHead"), data_preprocessor=dict(num_classes=2)))
    dataset = Points(pipeline=[dict(type="PackInputs")], serialize_data=False)
    loader = DataLoader(dataset, batch_size=2)
    return types.SimpleNamespace(model=model, epoch=epoch, _resume=resume,
                                 train_loop=types.SimpleNamespace(dataloader=loader))


def test_switches_happen_before_the_scheduled_epoch():
    with DefaultScope.overwrite_default_scope("loomcls"):
        hook = SwitchRecipeHook(schedule=[
            dict(action_epoch=2, pipeline=[dict(type="RandomFlip", prob=1.0), dict(type="PackInputs")]),
            dict(action_epoch=3, batch_augments=dict(augments=dict(type="Mixup", alpha=0.2)),
                 loss=dict(type="LabelSmoothLoss", label_smooth_val=0.1)),
        ])
        runner = _runner(epoch=0)
        dataset, model = runner.train_loop.dataloader.dataset, runner.model
        first = dataset.pipeline
        hook.before_train(runner)  # not resuming: nothing happens
        hook.before_train_epoch(runner)  # epoch 1
        assert dataset.pipeline is first and model.data_preprocessor.batch_augments is None
        runner.epoch = 1
        hook.before_train_epoch(runner)  # epoch 2
        assert [type(t).__name__ for t in dataset.pipeline.transforms] == ["RandomFlip", "PackInputs"]
        assert model.data_preprocessor.batch_augments is None
        runner.epoch = 2
        hook.before_train_epoch(runner)  # epoch 3
        assert type(model.data_preprocessor.batch_augments.augments[0]).__name__ == "Mixup"
        assert type(model.head.loss_module).__name__ == "LabelSmoothLoss"
        resumed = _runner(epoch=2, resume=True)
        hook.before_train(resumed)
        assert len(resumed.train_loop.dataloader.dataset.pipeline.transforms) == 2
        assert resumed.model.data_preprocessor.batch_augments is None  # epoch 3 has not started yet


def test_bad_schedules():
    with pytest.raises(ConfigError, match="action_epoch"):
        SwitchRecipeHook(schedule=[dict(pipeline=[])])
    with pytest.raises(ConfigError, match="appears twice"):
        SwitchRecipeHook(schedule=[dict(action_epoch=2), dict(action_epoch=2)])
    with pytest.raises(ConfigError, match="unknown schedule keys \\['pipline'\\]"):
        SwitchRecipeHook(schedule=[dict(action_epoch=2, pipline=[])])
