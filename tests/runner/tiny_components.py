"""Tiny model, dataset and metric for the runner tests (registered under test-only names).

Imported by the tests and, through ``custom_imports``, by the training
subprocesses they start (with this folder on PYTHONPATH).
"""

import os
import signal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import Dataset

from loomcv.evaluator import BaseMetric
from loomcv.hooks import Hook
from loomcv.model import BaseModel
from loomcv.registry import DATASETS, HOOKS, METRICS, MODELS


@DATASETS.register_module(force=True)
class TinyPoints(Dataset):
    """Two Gaussian blobs in 8-d; deterministic for a given ``seed``."""

    METAINFO = dict(classes=("left", "right"))

    def __init__(self, num: int = 64, seed: int = 0, separation: float = 1.0):
        rng = np.random.RandomState(seed)
        labels = rng.randint(0, 2, size=num)
        points = (rng.randn(num, 8) + separation * (labels[:, None] * 2.0 - 1.0)).astype(np.float32)
        self.points, self.labels = torch.from_numpy(points), torch.from_numpy(labels).long()

    @property
    def metainfo(self):
        return dict(self.METAINFO)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return dict(inputs=self.points[idx], data_samples=self.labels[idx])


@MODELS.register_module(force=True)
class TinyNet(BaseModel):
    """8 -> 16 -> 2 with dropout, so training consumes the torch RNG every step."""

    def __init__(self, hidden: int = 16, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.fc1 = nn.Linear(8, hidden)
        self.bn = nn.BatchNorm1d(hidden)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(hidden, 2)

    def forward(self, inputs, data_samples=None, mode="tensor"):
        logits = self.fc2(self.drop(F.relu(self.bn(self.fc1(inputs)))))
        if mode == "loss":
            return dict(loss=F.cross_entropy(logits, data_samples))
        if mode == "predict":
            return [dict(pred=p, gt=g) for p, g in zip(logits.argmax(1), data_samples)]
        return logits


@METRICS.register_module(force=True)
class TinyAccuracy(BaseMetric):
    default_prefix = "tiny"

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(int(sample["pred"] == sample["gt"]))

    def compute_metrics(self, results):
        return dict(accuracy=100.0 * sum(results) / len(results))


def tiny_config(work_dir, by_epoch=True, max_epochs=3, max_iters=30, num=64, batch_size=8, **overrides):
    """A complete runner config around the tiny components (plain dicts)."""
    loader = dict(batch_size=batch_size, num_workers=0, dataset=dict(type="TinyPoints", num=num),
                  sampler=dict(type="DefaultSampler", shuffle=True), collate_fn=dict(type="default_collate"))
    val_loader = dict(loader, dataset=dict(type="TinyPoints", num=32, seed=1),
                      sampler=dict(type="DefaultSampler", shuffle=False))
    train_cfg = (dict(by_epoch=True, max_epochs=max_epochs, val_interval=1) if by_epoch else
                 dict(by_epoch=False, max_iters=max_iters, val_interval=10))
    cfg = dict(
        work_dir=str(work_dir),
        model=dict(type="TinyNet"),
        train_dataloader=loader, val_dataloader=val_loader, test_dataloader=val_loader,
        train_cfg=train_cfg, val_cfg=dict(), test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1, momentum=0.9)),
        param_scheduler=[dict(type="MultiStepLR", milestones=[2], gamma=0.1, by_epoch=by_epoch)]
        if by_epoch else [dict(type="MultiStepLR", milestones=[20], gamma=0.1, by_epoch=False)],
        val_evaluator=dict(type="TinyAccuracy"), test_evaluator=dict(type="TinyAccuracy"),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=4),
                           checkpoint=dict(type="CheckpointHook", interval=1, by_epoch=by_epoch)),
        randomness=dict(seed=7, deterministic=True),
        log_level="INFO",
        custom_imports=dict(imports=["tiny_components"]),
    )
    cfg.update(overrides)
    return cfg


@HOOKS.register_module(force=True)
class SignalAtIter(Hook):
    """Sends ``signal_name`` to its own process after training iteration ``at_iter`` (1-based)."""

    def __init__(self, at_iter: int, signal_name: str = "SIGTERM"):
        self.at_iter, self.signal_name = at_iter, signal_name

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), getattr(signal, self.signal_name))


@HOOKS.register_module(force=True)
class RecordCheckpointWrites(Hook):
    """A spy: appends a line to ``<work_dir>/writes_rank<r>.txt`` whenever this rank writes a checkpoint file."""

    def before_run(self, runner):
        import loomcv.runner.strategies.base as runner_module  # where the strategy writes files
        real = runner_module.save_checkpoint
        record = os.path.join(runner.work_dir, f"writes_rank{runner.rank}.txt")

        def spy(checkpoint, filename):
            with open(record, "a") as f:
                f.write(filename + "\n")
            return real(checkpoint, filename)

        runner_module.save_checkpoint = spy
