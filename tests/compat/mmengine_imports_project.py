"""An MMEngine-style research project, written as its users write one: every import names mmengine/mmcv/mmpretrain.

It runs on loomcv only through the compatibility imports (``loomcv.compat``),
in a subprocess started by test_compat_imports.py: a custom model (with an
``mmcv.cnn`` brick), dataset, metric, hook and training loop, registered in
MMEngine's registries and trained by MMEngine's Runner.
"""

import json
import os.path as osp

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.dataset import DefaultSampler
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, HOOKS, LOOPS, METRICS, MODELS
from mmengine.runner import IterBasedTrainLoop, Runner
from mmengine.utils import is_list_of, mkdir_or_exist
from mmpretrain.models import CrossEntropyLoss
from torch.utils.data import Dataset


@DATASETS.register_module()
class StripesDataset(Dataset):
    """4x4 one-channel images: label 1 has a bright top row, label 0 a bright bottom row."""

    METAINFO = dict(classes=("bottom", "top"))

    def __init__(self, num=48, seed=0):
        gen = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(0, 2, (num,), generator=gen)
        self.images = torch.rand(num, 1, 4, 4, generator=gen) * 0.1
        for i, label in enumerate(self.labels):
            self.images[i, 0, 0 if label else 3, :] += 1.0

    @property
    def metainfo(self):
        return dict(self.METAINFO)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return dict(inputs=self.images[idx], data_samples=self.labels[idx])


@MODELS.register_module()
class StripesNet(BaseModel):
    def __init__(self, data_preprocessor=None):
        super().__init__(data_preprocessor=data_preprocessor)
        self.conv = ConvModule(1, 4, 3, padding=1, norm_cfg=dict(type="BN"))
        self.fc = torch.nn.Linear(4 * 16, 2)
        self.loss = CrossEntropyLoss()

    def forward(self, inputs, data_samples=None, mode="tensor"):
        if isinstance(inputs, list):
            inputs = torch.stack(inputs)
        logits = self.fc(self.conv(inputs).flatten(1))
        labels = torch.stack(data_samples) if isinstance(data_samples, list) else data_samples
        if mode == "loss":
            return dict(loss=self.loss(logits, labels), acc=(logits.argmax(1) == labels).float().mean())
        if mode == "predict":
            return [dict(pred=int(p), gt=int(g)) for p, g in zip(logits.argmax(1), labels)]
        return F.softmax(logits, 1)


@METRICS.register_module()
class StripesAccuracy(BaseMetric):
    default_prefix = "stripes"

    def process(self, data_batch, data_samples):
        assert is_list_of(data_samples, dict)
        self.results.extend(int(s["pred"] == s["gt"]) for s in data_samples)

    def compute_metrics(self, results):
        return dict(accuracy=100.0 * sum(results) / len(results))


@HOOKS.register_module()
class RecordHook(Hook):
    """Writes what it saw to ``<work_dir>/record.json`` after the run."""

    priority = "LOW"

    def __init__(self):
        self.train_iters, self.val_metrics = 0, {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.train_iters += 1

    def after_val_epoch(self, runner, metrics=None):
        self.val_metrics = dict(metrics or {})

    def after_run(self, runner):
        mkdir_or_exist(runner.work_dir)
        loop = runner.train_loop
        record = dict(train_iters=self.train_iters, val_metrics=self.val_metrics, loop=type(loop).__name__,
                      loop_calls=getattr(loop, "calls", None), runner=type(runner).__module__)
        with open(osp.join(runner.work_dir, "record.json"), "w") as f:
            json.dump(record, f)


@LOOPS.register_module()
class CountingLoop(IterBasedTrainLoop):
    """A custom training loop: counts the iterations it ran itself."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls = 0

    def run_iter(self, data_batch):
        self.calls += 1
        super().run_iter(data_batch)


def config(work_dir, **extra):
    loader = dict(batch_size=8, num_workers=0, dataset=dict(type="StripesDataset"),
                  sampler=dict(type=DefaultSampler.__name__, shuffle=True))
    val_loader = dict(loader, dataset=dict(type="StripesDataset", num=16, seed=1),
                      sampler=dict(type="DefaultSampler", shuffle=False))
    return dict(
        work_dir=str(work_dir),
        model=dict(type="StripesNet"),
        train_dataloader=loader, val_dataloader=val_loader,
        train_cfg=dict(type="CountingLoop", max_iters=12, val_interval=12),
        val_cfg=dict(), val_evaluator=dict(type="StripesAccuracy"),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=4),
                           checkpoint=dict(type="CheckpointHook", interval=12, by_epoch=False)),
        custom_hooks=[dict(type="RecordHook")],
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        **extra)


def main(work_dir):
    runner = Runner.from_cfg(config(work_dir))
    runner.train()
    return runner
