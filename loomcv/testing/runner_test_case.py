"""RunnerTestCase: a unittest base whose setUp gives ready runner configs around the toy parts.

``self.epoch_based_cfg`` and ``self.iter_based_cfg`` train :class:`ToyModel`
on :class:`ToyDataset`; ``self.build_runner(cfg)`` builds a runner with a
fresh ``experiment_name``, so runners of one test do not share a logger.
tearDown forgets the named loggers, visualizers, scopes and message hubs and
removes the toy registrations and the temporary work dir.
"""

import copy
import logging
import os
import tempfile
import time
from unittest import TestCase

from loomcv.config import Config
from loomcv.logging import LoomLogger, MessageHub
from loomcv.registry import DATASETS, METRICS, MODELS, DefaultScope
from loomcv.visualization import Visualizer

from .toys import ToyDataset, ToyMetric, ToyModel


def _loader(sampler: str, shuffle: bool) -> dict:
    return dict(dataset=dict(type="ToyDataset"), sampler=dict(type=sampler, shuffle=shuffle), batch_size=3,
                num_workers=0)


class RunnerTestCase(TestCase):
    """Base class for tests that run a Runner (MMEngine's ``mmengine.testing.RunnerTestCase``)."""

    dist_cfg = dict(MASTER_ADDR="127.0.0.1", MASTER_PORT=29600, RANK="0", WORLD_SIZE="1", LOCAL_RANK="0")

    def setUp(self) -> None:
        self.temp_dir = tempfile.TemporaryDirectory()
        MODELS.register_module(module=ToyModel, force=True)
        METRICS.register_module(module=ToyMetric, force=True)
        DATASETS.register_module(module=ToyDataset, force=True)
        self.epoch_based_cfg = Config(dict(
            work_dir=self.temp_dir.name,
            model=dict(type="ToyModel"),
            train_dataloader=_loader("DefaultSampler", True),
            val_dataloader=_loader("DefaultSampler", False),
            val_evaluator=[dict(type="ToyMetric")],
            test_dataloader=_loader("DefaultSampler", False),
            test_evaluator=[dict(type="ToyMetric")],
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
            train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
            val_cfg=dict(),
            test_cfg=dict(),
            default_hooks=dict(logger=dict(type="LoggerHook", interval=1)),
            custom_hooks=[],
            env_cfg=dict(dist_cfg=dict(backend="nccl")),
            experiment_name="test1"))
        self.iter_based_cfg = copy.deepcopy(self.epoch_based_cfg)
        self.iter_based_cfg.train_dataloader = _loader("InfiniteSampler", True)
        self.iter_based_cfg.log_processor = dict(by_epoch=False)
        self.iter_based_cfg.train_cfg = dict(by_epoch=False, max_iters=12)
        self.iter_based_cfg.default_hooks = dict(logger=dict(type="LoggerHook", interval=1),
                                                 checkpoint=dict(type="CheckpointHook", interval=12, by_epoch=False))

    def tearDown(self) -> None:
        logging.shutdown()  # close the log files so the temporary folder can go
        for logger in list(LoomLogger._instances.values()):
            for handler in list(logger.handlers):
                handler.close()
                logger.removeHandler(handler)
        LoomLogger._instances.clear()
        Visualizer._instances.clear()
        MessageHub._instances.clear()
        DefaultScope._instances.clear()
        DefaultScope._current = None
        MODELS.module_dict.pop("ToyModel", None)
        METRICS.module_dict.pop("ToyMetric", None)
        DATASETS.module_dict.pop("ToyDataset", None)
        self.temp_dir.cleanup()

    def build_runner(self, cfg):
        """A Runner from ``cfg`` under a new experiment name."""
        from loomcv.runner import Runner
        cfg.experiment_name = self.experiment_name
        return Runner.from_cfg(cfg)

    @property
    def experiment_name(self) -> str:
        """A name unique to this test method and moment."""
        return f"{self._testMethodName}_{time.time_ns()}"

    def setup_dist_env(self) -> None:
        """Environment variables for a one-process ``torch.distributed`` group, on a fresh port."""
        self.dist_cfg["MASTER_PORT"] += 1
        os.environ["MASTER_PORT"] = str(self.dist_cfg["MASTER_PORT"])
        for key in ("MASTER_ADDR", "RANK", "WORLD_SIZE", "LOCAL_RANK"):
            os.environ[key] = self.dist_cfg[key]
