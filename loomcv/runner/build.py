"""Turning the parts of a Runner config into objects: model, loops, visualizer and log
processor (wrapping the model is the strategy's job, :mod:`loomcv.runner.strategies`). Each
accepts a built object as well and returns it unchanged.

The loop configs are checked when the Runner is created, before it logs its
set-up: every key must be an argument of the loop it builds (else the error
names the key path, the accepted names and the closest one), and integer
arguments must be integers. Once a loop's dataloader exists, each dataset that
defines ``check_model(model)`` checks its annotations against the model.
"""

import inspect
from collections.abc import Mapping
from typing import Any, Iterator

import torch.nn as nn

from loomcv.errors import ConfigError, did_you_mean
from loomcv.registry import LOG_PROCESSORS, LOOPS, MODELS, VISUALIZERS
from loomcv.registry.build import where

from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop

#: arguments every loop gets from the Runner, not from its config
RUNNER_GIVEN = ("self", "runner", "dataloader", "evaluator")


def is_dataloader_like(obj: Any) -> bool:
    return not isinstance(obj, Mapping) and hasattr(obj, "__iter__") and hasattr(obj, "__len__")


def as_config(cfg):
    """``cfg`` as a Config (a plain dict is wrapped), or None."""
    if cfg is None or hasattr(cfg, "pretty_text"):
        return cfg
    from loomcv.config import Config
    return Config(dict(cfg))


def check_triplet(kind: str, values: dict) -> None:
    """Training, validation and testing each need all three of their arguments, or none; the
    loop config among them is checked too (see :func:`check_loop_cfg`)."""
    given = [k for k, v in values.items() if v is not None]
    if given and len(given) != len(values):
        missing = [k for k in values if k not in given]
        raise ConfigError(f"Runner: {kind} needs {', '.join(values)} together; got {', '.join(given)} "
                          f"but not {', '.join(missing)}")
    check_loop_cfg(kind, values.get(f"{kind}_cfg"))


def _loop_class(kind: str, cfg: Mapping):
    if kind != "train":
        return ValLoop if kind == "val" else TestLoop
    if cfg.get("by_epoch", True):
        if "max_iters" in cfg:
            raise ConfigError("train_cfg: by_epoch=True takes max_epochs, not max_iters "
                              "(set by_epoch=False for iteration-based training)")
        return EpochBasedTrainLoop
    if "max_epochs" in cfg:
        raise ConfigError("train_cfg: by_epoch=False takes max_iters, not max_epochs")
    return IterBasedTrainLoop


def check_loop_cfg(kind: str, cfg: Any) -> None:
    """``{kind}_cfg`` names only arguments of the loop it builds, with integers where the loop
    counts. A loop given by ``type`` (a registered class) checks its own arguments when built."""
    if not isinstance(cfg, Mapping) or "type" in cfg:
        return
    name = f"{kind}_cfg"
    cls = _loop_class(kind, cfg)
    params = {n: p for n, p in inspect.signature(cls.__init__).parameters.items() if n not in RUNNER_GIVEN}
    accepted = list(params) + (["by_epoch"] if kind == "train" else [])
    for key, value in cfg.items():
        label = where(cfg, key) or f"{name}.{key}"  # the key path, and where the value was set
        if key not in accepted:
            raise ConfigError(f"{label}: {cls.__name__} takes no argument {key!r}."
                              f"{did_you_mean(key, accepted, 1)}\n  accepted: {', '.join(accepted)}")
        if params.get(key) is not None and params[key].annotation is int and value is not None and \
                (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigError(f"{label} must be an integer, got {value!r} "
                              f"({type(value).__name__}); e.g. --cfg-options {name}.{key}=12")
    for key in ("max_epochs", "max_iters", "val_interval"):
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 1:
            raise ConfigError(f"{name}.{key} must be >= 1, got {value}")


def datasets_of(dataset: Any) -> Iterator[Any]:
    """``dataset`` and the datasets it wraps (``.dataset`` / ``.datasets``, as the wrappers hold them)."""
    yield dataset
    inner = getattr(dataset, "dataset", None)
    if inner is not None and inner is not dataset:
        yield from datasets_of(inner)
    for each in getattr(dataset, "datasets", None) or ():
        yield from datasets_of(each)


def check_against_model(dataset: Any, model) -> None:
    """Each dataset (wrapped ones too) that defines ``check_model(model)`` checks its annotations
    against the model (a classification set: every label below the head's ``num_classes``)."""
    for each in datasets_of(dataset):
        check = getattr(each, "check_model", None)
        if callable(check):
            check(model)


def check_datasets(runner, loop) -> None:
    """Once per built loop: the loop's dataset against the (unwrapped) model."""
    dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
    if dataset is None:
        return
    from loomcv.model.wrappers import unwrap_model
    check_against_model(dataset, unwrap_model(runner.model))


def build_visualizer(visualizer, name: str, save_dir: str, rank: int):
    from loomcv.visualization import Visualizer
    if visualizer is not None and not isinstance(visualizer, Mapping):
        return visualizer
    cfg = dict(visualizer or dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]))
    cfg.setdefault("type", "Visualizer")
    cfg.setdefault("name", name)
    # only rank 0 writes vis data: other ranks get a visualizer without a folder (no backends)
    cfg["save_dir"] = save_dir if rank == 0 else None
    if Visualizer.check_instance_created(cfg["name"]):
        return Visualizer.get_instance(cfg["name"])
    return VISUALIZERS.build(cfg)


def build_log_processor(log_processor):
    if log_processor is not None and not isinstance(log_processor, Mapping):
        return log_processor
    cfg = dict(log_processor or {})
    cfg.setdefault("type", "LogProcessor")
    return LOG_PROCESSORS.build(cfg)


def build_model(model, data_preprocessor) -> nn.Module:
    if isinstance(model, nn.Module):
        return model
    if isinstance(model, Mapping):
        cfg = dict(model)
        if data_preprocessor is not None:
            cfg.setdefault("data_preprocessor", data_preprocessor)
        return MODELS.build(cfg)
    raise TypeError(f"Runner: model must be an nn.Module or a config dict, got {type(model).__name__}")


def build_loop(runner, loop, kind: str, dataloader, evaluator=None):
    """The ``kind`` ('train', 'val', 'test') loop from its ``*_cfg``; ``by_epoch`` picks a train loop."""
    if isinstance(loop, BaseLoop) or loop is None:
        return loop
    if not isinstance(loop, Mapping):
        raise TypeError(f"Runner: {kind}_cfg must be a dict or a loop, got {type(loop).__name__}")
    check_loop_cfg(kind, loop)
    cfg = dict(loop)
    if "type" in cfg:
        given = dict(runner=runner, dataloader=dataloader)
        if kind != "train":
            given["evaluator"] = evaluator
        built = LOOPS.build(cfg, default_args=given)
    elif kind == "train":
        cls = _loop_class(kind, cfg)
        cfg.pop("by_epoch", None)
        built = cls(runner=runner, dataloader=dataloader, **cfg)
    else:
        built = _loop_class(kind, cfg)(runner=runner, dataloader=dataloader, evaluator=evaluator, **cfg)
    check_datasets(runner, built)
    return built


class BuildSteps:
    """Mixed into the Runner: MMEngine's ``build_*`` steps, one method each, so a Runner subclass
    can replace one step (``build_model``, ``wrap_model``, ``build_train_loop``...) as it would
    in MMEngine. Each takes a built object or its config."""

    def build_logger(self, log_level="INFO", log_file=None, **kwargs):
        """The run's logger (``<log_dir>/<timestamp>.log`` unless ``log_file``), named after the run."""
        import os.path as osp

        from loomcv.logging import LoomLogger
        if log_file is None:
            log_file = osp.join(self._log_dir, f"{self._timestamp}.log")
        kwargs.setdefault("name", self._experiment_name)
        return LoomLogger.get_instance(log_file=log_file, log_level=log_level, **kwargs)

    def build_message_hub(self, message_hub=None):
        """The run's MessageHub (``dict(name=...)`` or a built one; named after the run by default)."""
        from loomcv.logging import MessageHub
        if message_hub is not None and not isinstance(message_hub, Mapping):
            return message_hub
        cfg = dict(message_hub or {})
        cfg.setdefault("name", self._experiment_name)
        return MessageHub.get_instance(**cfg)

    def build_visualizer(self, visualizer=None):
        return build_visualizer(visualizer, self._experiment_name, self._log_dir, self.rank)

    def build_log_processor(self, log_processor):
        return build_log_processor(log_processor)

    def build_model(self, model) -> nn.Module:
        """The model from ``dict(type=...)`` (MODELS), or the module itself."""
        return build_model(model, None)

    def wrap_model(self, model_wrapper_cfg, model: nn.Module) -> nn.Module:
        """Place and wrap the model for this run (the strategy's job: DDP when distributed, a plain
        module with SyncBatchNorm reverted to BatchNorm otherwise); ``model_wrapper_cfg`` is
        MMEngine's wrapper config, e.g. ``dict(type='MMDistributedDataParallel', ...)``."""
        if model_wrapper_cfg and hasattr(self.strategy, "model_wrapper") and not self.strategy.model_wrapper:
            self.strategy.model_wrapper = dict(model_wrapper_cfg)
        return self.strategy.prepare_model(self, model)

    def build_train_loop(self, loop):
        return build_loop(self, loop, "train", self._train_dataloader)

    def build_val_loop(self, loop):
        return build_loop(self, loop, "val", self._val_dataloader, self._val_evaluator)

    def build_test_loop(self, loop):
        return build_loop(self, loop, "test", self._test_dataloader, self._test_evaluator)

    def _build_loop(self, loop, kind: str):
        if isinstance(loop, BaseLoop) or loop is None:
            return loop
        return getattr(self, f"build_{kind}_loop")(loop)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed: bool = False):
        """A DataLoader from its config (``dataset``, ``sampler``, ``batch_size``, ...), or itself."""
        if is_dataloader_like(dataloader):
            return dataloader
        from loomcv.dataset import build_dataloader
        return build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def build_evaluator(self, evaluator):
        """An Evaluator from ``val_evaluator``/``test_evaluator`` (one entry of a list of them)."""
        from loomcv.evaluator import build_evaluator
        return build_evaluator(evaluator)

    def build_optim_wrapper(self, optim_wrapper):
        import torch

        from loomcv.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
        if isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
            return optim_wrapper
        if isinstance(optim_wrapper, torch.optim.Optimizer):
            return OptimWrapper(optim_wrapper)
        if not isinstance(optim_wrapper, Mapping):
            raise TypeError(f"Runner: optim_wrapper must be an OptimWrapper or a config dict, "
                            f"got {type(optim_wrapper).__name__}")
        return build_optim_wrapper(self.model, optim_wrapper)  # after wrapping: FSDP's sharded parameters

    def build_param_scheduler(self, scheduler):
        """Schedulers from configs (a dict of lists for an OptimWrapperDict); a missing ``end`` is the
        training length, ``convert_to_iter_based`` uses the train dataloader's length."""
        from loomcv.optim import build_param_schedulers
        loop = self.train_loop
        return build_param_schedulers(scheduler, self.optim_wrapper, epoch_length=len(loop.dataloader),
                                      max_epochs=loop.max_epochs, max_iters=loop.max_iters)
