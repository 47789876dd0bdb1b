"""Runner: builds everything a config names and drives training, validation and testing.

The constructor takes built objects or their configs; dataloaders, optim
wrappers and schedulers are built when a loop first needs them. See
docs/runner_and_hooks.md.
"""

import copy
import logging
import os
import os.path as osp
import platform
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from torch.utils.data import DataLoader

from loomcv import dist
from loomcv.dist.watchdog import backend_timeout, build_watchdog
from loomcv.errors import ConfigError, ConfigKeyError, did_you_mean
from loomcv.hooks import Hook
from loomcv.hooks.hook import STAGES
from loomcv.hooks.priority import get_priority, priority_name
from loomcv.logging import LoomLogger, MessageHub
from loomcv.registry import (EVALUATOR, HOOKS, LOG_PROCESSORS, LOOPS, MODEL_WRAPPERS, MODELS,
                             PARAM_SCHEDULERS, RUNNERS, VISUALIZERS, DefaultScope)

from .checkpoint import find_latest_checkpoint, get_state_dict, save_checkpoint, write_latest_marker
from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
from .randomness import get_rng_state, set_random_seed, set_rng_state

DEFAULT_HOOKS = dict(
    runtime_info=dict(type="RuntimeInfoHook"),
    timer=dict(type="IterTimerHook"),
    sampler_seed=dict(type="DistSamplerSeedHook"),
    logger=dict(type="LoggerHook"),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", interval=1),
)

RANDOMNESS_KEYS = ("seed", "deterministic", "diff_rank_seed")


class TrainingInterrupted(SystemExit):
    """Raised after SIGTERM/SIGINT once the current iteration is done and a checkpoint is saved.

    A SystemExit with code 128 + signal number, so a script ends non-zero
    without a traceback and ``resume='auto'`` continues from the saved state.
    """

    def __init__(self, signum: int, checkpoint: str):
        super().__init__(128 + signum)
        self.signum = signum
        self.checkpoint = checkpoint


def _is_dataloader_like(obj: Any) -> bool:
    return not isinstance(obj, Mapping) and hasattr(obj, "__iter__") and hasattr(obj, "__len__")


@RUNNERS.register_module()
class Runner:
    """Args follow MMEngine's Runner: ``model``, ``work_dir``, the three dataloaders and their
    ``*_cfg``, ``optim_wrapper``, ``param_scheduler``, ``val_evaluator``/``test_evaluator``,
    ``default_hooks``, ``custom_hooks``, ``data_preprocessor``, ``load_from``, ``resume``
    (False, True/'auto' for the latest checkpoint in ``work_dir``, or a path), ``launcher``
    ('none' | 'pytorch' | 'slurm'), ``env_cfg``, ``log_processor``, ``log_level``,
    ``visualizer``, ``default_scope``, ``randomness``, ``experiment_name``, ``auto_scale_lr``
    and ``cfg`` (the whole config, dumped into the log folder).
    """

    def __init__(self, model: Union[nn.Module, dict], work_dir: str,
                 train_dataloader=None, val_dataloader=None, test_dataloader=None,
                 train_cfg: Optional[dict] = None, val_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 auto_scale_lr: Optional[dict] = None, optim_wrapper=None, param_scheduler=None,
                 val_evaluator=None, test_evaluator=None, default_hooks: Optional[dict] = None,
                 custom_hooks: Optional[List] = None, data_preprocessor: Optional[dict] = None,
                 load_from: Optional[str] = None, resume: Union[bool, str] = False, launcher: str = "none",
                 env_cfg: Optional[dict] = None, log_processor: Optional[dict] = None,
                 log_level: Union[int, str] = "INFO", visualizer=None, default_scope: str = "loomcv",
                 randomness: Optional[dict] = None, experiment_name: Optional[str] = None, cfg=None):
        if work_dir is None:
            raise ConfigKeyError("Runner needs a work_dir (set `work_dir` in the config or pass --work-dir)")
        self._work_dir = osp.abspath(work_dir)
        os.makedirs(self._work_dir, exist_ok=True)
        self.cfg = self._as_config(cfg)

        _check_triplet("train", dict(train_dataloader=train_dataloader, train_cfg=train_cfg,
                                     optim_wrapper=optim_wrapper))
        _check_triplet("val", dict(val_dataloader=val_dataloader, val_cfg=val_cfg, val_evaluator=val_evaluator))
        _check_triplet("test", dict(test_dataloader=test_dataloader, test_cfg=test_cfg,
                                    test_evaluator=test_evaluator))
        self._train_dataloader, self._train_loop = train_dataloader, train_cfg
        self._val_dataloader, self._val_loop, self._val_evaluator = val_dataloader, val_cfg, val_evaluator
        self._test_dataloader, self._test_loop, self._test_evaluator = test_dataloader, test_cfg, test_evaluator
        self.optim_wrapper = optim_wrapper
        self.param_schedulers = param_scheduler
        self.auto_scale_lr = auto_scale_lr
        self._load_from = load_from
        self._resume = resume
        self._has_loaded = False
        self._resuming = False
        self._pending_rng: Optional[dict] = None
        self._stop_signal: Optional[int] = None

        # environment, distributed, randomness
        self._launcher = launcher
        self._env_cfg = dict(env_cfg or {})
        self._setup_env()
        self._randomness_cfg = dict(randomness or {})
        unknown = set(self._randomness_cfg) - set(RANDOMNESS_KEYS)
        if unknown:
            raise ConfigError(f"randomness: unknown key(s) {sorted(unknown)}; valid keys: {RANDOMNESS_KEYS}")
        self._seed = set_random_seed(**self._randomness_cfg)
        self._randomness_cfg["seed"] = self._seed - (dist.get_rank()
                                                     if self._randomness_cfg.get("diff_rank_seed") else 0)

        # names, folders, logger, message hub, visualizer
        stamp = [time.strftime("%Y%m%d_%H%M%S", time.localtime())]
        dist.broadcast_object_list(stamp)
        self._timestamp = stamp[0]
        if experiment_name is None:
            stem = osp.splitext(osp.basename(self.cfg.filename))[0] if getattr(self.cfg, "filename", None) else None
            experiment_name = f"{stem}_{self._timestamp}" if stem else self._timestamp
        base, n = experiment_name, 1
        while MessageHub.check_instance_created(experiment_name):  # two runners in one process and second
            n += 1
            experiment_name = f"{base}_{n}"
        self._experiment_name = experiment_name
        self._log_dir = osp.join(self._work_dir, self._timestamp)
        if self.rank == 0:
            os.makedirs(self._log_dir, exist_ok=True)
        self.logger = LoomLogger.get_instance(experiment_name, log_file=osp.join(self._log_dir,
                                                                                 f"{self._timestamp}.log"),
                                              log_level=log_level)
        self.message_hub = MessageHub.get_instance(experiment_name)
        self._watchdog = build_watchdog(self._dist_cfg, self.distributed, self.rank, self.logger)
        self.visualizer = self._build_visualizer(visualizer)
        self.default_scope = DefaultScope.get_instance(experiment_name, scope_name=default_scope)
        if self.cfg is not None:
            try:
                self.visualizer.add_config(self.cfg)
            except Exception as err:  # a config holding objects cannot be written as text
                self.logger.warning(f"config not written to the vis backends: {err}")

        self.log_processor = self._build_log_processor(log_processor)
        self.model = self._wrap_model(self._build_model(model, data_preprocessor))
        self._hooks: List[Hook] = []
        self._stage_hooks: Dict[str, List[Hook]] = {stage: [] for stage in STAGES}
        self.register_hooks(default_hooks, custom_hooks)
        self._log_start()
        self._dump_config()

    # ================================================================== building
    @classmethod
    def from_cfg(cls, cfg) -> "Runner":
        """Build a Runner from a config (Config, ConfigDict or dict) in the MMEngine schema."""
        if not isinstance(cfg, Mapping) and not hasattr(cfg, "get"):
            raise TypeError(f"Runner.from_cfg takes a Config or a dict, got {type(cfg).__name__}")
        cfg = copy.deepcopy(cfg)
        if cfg.get("model") is None:
            raise ConfigKeyError("Runner.from_cfg: the config has no 'model'")
        if cfg.get("work_dir") is None:
            raise ConfigKeyError("Runner.from_cfg: the config has no 'work_dir' (set it, or pass --work-dir)")
        args = {name: cfg.get(name) for name in (
            "train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg", "test_cfg",
            "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
            "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "env_cfg", "log_processor",
            "visualizer", "randomness", "experiment_name")}
        return cls(model=cfg["model"], work_dir=cfg["work_dir"], resume=cfg.get("resume", False),
                   launcher=cfg.get("launcher", "none"), log_level=cfg.get("log_level", "INFO"),
                   default_scope=cfg.get("default_scope", "loomcv"), cfg=cfg, **args)

    @staticmethod
    def _as_config(cfg):
        if cfg is None or hasattr(cfg, "pretty_text"):
            return cfg
        from loomcv.config import Config
        return Config(dict(cfg))

    def _setup_env(self) -> None:
        env = self._env_cfg
        if env.get("cudnn_benchmark"):
            torch.backends.cudnn.benchmark = True
        mp_cfg = dict(env.get("mp_cfg") or {})
        method = mp_cfg.get("mp_start_method")
        if method is not None and sys.platform != "win32":
            import multiprocessing as mp
            if mp.get_start_method(allow_none=True) != method:
                mp.set_start_method(method, force=True)
        if mp_cfg.get("opencv_num_threads") is not None:
            import cv2
            cv2.setNumThreads(int(mp_cfg["opencv_num_threads"]))
        launchers = ("none", "pytorch", "slurm")
        if self._launcher not in launchers:
            raise ConfigError(f"Runner: unknown launcher {self._launcher!r}; valid: {', '.join(launchers)}."
                              f"{did_you_mean(str(self._launcher), launchers)}")
        self._dist_cfg = dict(env.get("dist_cfg") or {})
        if self._launcher != "none":
            dist_cfg = {k: v for k, v in self._dist_cfg.items() if k not in ("timeout", "watchdog")}
            backend = dist_cfg.pop("backend", None)
            if backend == "nccl" and not torch.cuda.is_available():
                backend = "gloo"  # the MMEngine default config says nccl; a CPU machine needs gloo
            dist.init_dist(self._launcher, backend=backend, timeout=backend_timeout(self._dist_cfg), **dist_cfg)
        self._rank, self._world_size = dist.get_dist_info()
        if torch.cuda.is_available():
            self.device = torch.device("cuda", dist.get_local_rank() if self.distributed else torch.cuda.current_device())
        else:
            self.device = torch.device("cpu")

    def _build_visualizer(self, visualizer):
        from loomcv.visualization import Visualizer
        if visualizer is not None and not isinstance(visualizer, Mapping):
            return visualizer
        cfg = dict(visualizer or dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend")]))
        cfg.setdefault("type", "Visualizer")
        cfg.setdefault("name", self._experiment_name)
        # only rank 0 writes vis data: other ranks get a visualizer without a folder (no backends)
        cfg["save_dir"] = self._log_dir if self.rank == 0 else None
        if Visualizer.check_instance_created(cfg["name"]):
            return Visualizer.get_instance(cfg["name"])
        return VISUALIZERS.build(cfg)

    def _build_log_processor(self, log_processor):
        if log_processor is not None and not isinstance(log_processor, Mapping):
            return log_processor
        cfg = dict(log_processor or {})
        cfg.setdefault("type", "LogProcessor")
        return LOG_PROCESSORS.build(cfg)

    @staticmethod
    def _build_model(model, data_preprocessor):
        if isinstance(model, nn.Module):
            return model
        if isinstance(model, Mapping):
            cfg = dict(model)
            if data_preprocessor is not None:
                cfg.setdefault("data_preprocessor", data_preprocessor)
            return MODELS.build(cfg)
        raise TypeError(f"Runner: model must be an nn.Module or a config dict, got {type(model).__name__}")

    def _wrap_model(self, model: nn.Module) -> nn.Module:
        from loomcv.model import is_model_wrapper
        if is_model_wrapper(model):
            return model
        model = model.to(self.device)
        if not self.distributed:
            return model
        wrapper_cfg = dict((self.cfg.get("model_wrapper_cfg") if self.cfg is not None else None)
                           or dict(type="LoomDistributedDataParallel"))
        wrapper_cfg.setdefault("module", model)
        if self.device.type == "cuda":
            wrapper_cfg.setdefault("device_ids", [self.device.index])
        return MODEL_WRAPPERS.build(wrapper_cfg)

    @staticmethod
    def build_dataloader(dataloader, seed: Optional[int] = None, diff_rank_seed: bool = False):
        """A DataLoader from its config (``dataset``, ``sampler``, ``batch_size``, ...), or itself."""
        if _is_dataloader_like(dataloader):
            return dataloader
        from loomcv.dataset import build_dataloader
        return build_dataloader(dataloader, seed=seed, diff_rank_seed=diff_rank_seed)

    def build_evaluator(self, evaluator):
        """An Evaluator from ``val_evaluator``/``test_evaluator`` (one entry of a list of them)."""
        from loomcv.evaluator import build_evaluator
        return build_evaluator(evaluator)

    def build_optim_wrapper(self, optim_wrapper):
        from loomcv.optim import OptimWrapper, OptimWrapperDict, build_optim_wrapper
        if isinstance(optim_wrapper, (OptimWrapper, OptimWrapperDict)):
            return optim_wrapper
        if isinstance(optim_wrapper, torch.optim.Optimizer):
            return OptimWrapper(optim_wrapper)
        if not isinstance(optim_wrapper, Mapping):
            raise TypeError(f"Runner: optim_wrapper must be an OptimWrapper or a config dict, "
                            f"got {type(optim_wrapper).__name__}")
        return build_optim_wrapper(self.model, optim_wrapper)

    def build_param_scheduler(self, scheduler) -> Union[list, dict]:
        """Schedulers from configs; by-epoch ones get ``epoch_length`` for iteration conversion."""
        if scheduler is None:
            return []
        from loomcv.optim import OptimWrapperDict
        if isinstance(self.optim_wrapper, OptimWrapperDict):
            if isinstance(scheduler, Mapping) and "type" not in scheduler:
                return {name: self._build_schedulers(scheduler.get(name), self.optim_wrapper[name])
                        for name in self.optim_wrapper.keys()}
            return {name: self._build_schedulers(scheduler, wrapper)
                    for name, wrapper in self.optim_wrapper.items()}
        return self._build_schedulers(scheduler, self.optim_wrapper)

    def _build_schedulers(self, scheduler, optim_wrapper) -> list:
        if scheduler is None:
            return []
        items = [scheduler] if isinstance(scheduler, Mapping) or not isinstance(scheduler, Sequence) \
            else list(scheduler)
        built = []
        for item in items:
            if not isinstance(item, Mapping):
                built.append(item)
                continue
            cfg = dict(item)
            loop = self.train_loop
            cfg.setdefault("end", loop.max_epochs if cfg.get("by_epoch", True) else loop.max_iters)
            if cfg.pop("convert_to_iter_based", False):
                cls = PARAM_SCHEDULERS.get(cfg["type"]) if isinstance(cfg.get("type"), str) else cfg.get("type")
                if cls is None:
                    PARAM_SCHEDULERS.build(cfg)  # raises the registry's "unknown type" error
                cfg.pop("type")
                built.append(cls.build_iter_from_epoch(optimizer=optim_wrapper,
                                                       epoch_length=len(loop.dataloader), **cfg))
            else:
                built.append(PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=optim_wrapper)))
        return built

    def _build_loop(self, loop, kind: str):
        if isinstance(loop, BaseLoop) or loop is None:
            return loop
        if not isinstance(loop, Mapping):
            raise TypeError(f"Runner: {kind}_cfg must be a dict or a loop, got {type(loop).__name__}")
        cfg = dict(loop)
        if kind == "train":
            dataloader = self._train_dataloader
            if "type" in cfg:
                return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=dataloader))
            by_epoch = cfg.pop("by_epoch", True)
            if by_epoch:
                if "max_iters" in cfg:
                    raise ConfigError("train_cfg: by_epoch=True takes max_epochs, not max_iters "
                                      "(set by_epoch=False for iteration-based training)")
                return EpochBasedTrainLoop(runner=self, dataloader=dataloader, **cfg)
            if "max_epochs" in cfg:
                raise ConfigError("train_cfg: by_epoch=False takes max_iters, not max_epochs")
            return IterBasedTrainLoop(runner=self, dataloader=dataloader, **cfg)
        dataloader = getattr(self, f"_{kind}_dataloader")
        evaluator = getattr(self, f"_{kind}_evaluator")
        default = ValLoop if kind == "val" else TestLoop
        if "type" in cfg:
            return LOOPS.build(cfg, default_args=dict(runner=self, dataloader=dataloader, evaluator=evaluator))
        return default(runner=self, dataloader=dataloader, evaluator=evaluator, **cfg)

    # ================================================================== properties
    @property
    def train_loop(self):
        loop = self._train_loop
        if isinstance(loop, BaseLoop):  # the per-iteration fast path
            return loop
        if loop is None:
            raise RuntimeError("Runner has no training set up: pass train_dataloader, train_cfg and "
                               "optim_wrapper")
        self._train_loop = self._build_loop(self._train_loop, "train")
        return self._train_loop

    @property
    def val_loop(self):
        self._val_loop = self._build_loop(self._val_loop, "val")
        return self._val_loop

    @property
    def test_loop(self):
        self._test_loop = self._build_loop(self._test_loop, "test")
        return self._test_loop

    @property
    def train_loop_built(self) -> bool:
        return isinstance(self._train_loop, BaseLoop)

    @property
    def train_dataloader(self):
        return self.train_loop.dataloader

    @property
    def val_dataloader(self):
        return self.val_loop.dataloader

    @property
    def test_dataloader(self):
        return self.test_loop.dataloader

    def _built_dataloader(self, name: str):
        loop = getattr(self, f"_{name.split('_')[0]}_loop")
        if isinstance(loop, BaseLoop):
            return loop.dataloader
        obj = getattr(self, f"_{name}")
        return obj if _is_dataloader_like(obj) else None

    epoch = property(lambda self: self._train_loop._epoch if isinstance(self._train_loop, BaseLoop) else 0)
    iter = property(lambda self: self._train_loop._iter if isinstance(self._train_loop, BaseLoop) else 0)
    max_epochs = property(lambda self: self.train_loop.max_epochs)
    max_iters = property(lambda self: self.train_loop.max_iters)
    work_dir = property(lambda self: self._work_dir)
    log_dir = property(lambda self: self._log_dir)
    timestamp = property(lambda self: self._timestamp)
    experiment_name = property(lambda self: self._experiment_name)
    seed = property(lambda self: self._seed)
    rank = property(lambda self: self._rank)
    world_size = property(lambda self: self._world_size)
    distributed = property(lambda self: self._world_size > 1)
    launcher = property(lambda self: self._launcher)
    hooks = property(lambda self: list(self._hooks))
    stop_requested = property(lambda self: self._stop_signal is not None)

    # ================================================================== hooks
    def register_hook(self, hook: Union[Hook, dict], priority: Union[None, int, str] = None) -> None:
        """Add a hook; it runs after every registered hook of the same or higher priority."""
        if isinstance(hook, Mapping):
            cfg = dict(hook)
            cfg_priority = cfg.pop("priority", None)
            hook = HOOKS.build(cfg)
            priority = priority if priority is not None else cfg_priority
        if not isinstance(hook, Hook):
            raise TypeError(f"register_hook takes a Hook or a config dict, got {type(hook).__name__}")
        hook.priority = get_priority(priority if priority is not None else hook.priority)
        position = len(self._hooks)
        for i, other in enumerate(self._hooks):
            if hook.priority < other.priority:
                position = i
                break
        self._hooks.insert(position, hook)
        for stage in STAGES:
            self._stage_hooks[stage] = [h for h in self._hooks if stage in h.stages()]

    def register_hooks(self, default_hooks: Optional[dict] = None, custom_hooks: Optional[list] = None) -> None:
        hooks = dict(DEFAULT_HOOKS)
        for key, value in (default_hooks or {}).items():
            hooks[key] = value
        for value in hooks.values():
            if value is not None:
                self.register_hook(value)
        for value in custom_hooks or []:
            self.register_hook(value)

    def call_hook(self, fn_name: str, **kwargs) -> None:
        """Call ``fn_name`` on every hook that implements it, in priority order."""
        try:
            hooks = self._stage_hooks[fn_name]
        except KeyError:
            raise ValueError(f"call_hook: unknown stage {fn_name!r}.{did_you_mean(fn_name, STAGES)}") from None
        for hook in hooks:
            getattr(hook, fn_name)(self, **kwargs)

    def get_hooks_info(self) -> str:
        """For each stage, the hooks that run there, in order, with their priorities."""
        lines = []
        for stage in STAGES:
            hooks = self._stage_hooks[stage]
            if hooks:
                lines.append(f"{stage}:")
                lines += [f"({priority_name(h.priority):<12}) {type(h).__name__}" for h in hooks]
                lines.append("-" * 40)
        return "\n".join(lines)

    # ================================================================== run
    def train(self) -> nn.Module:
        """Train (and validate) as train_cfg says; returns the model."""
        loop = self.train_loop
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
        if self._val_loop is not None:
            self.val_loop  # build now so hooks see it
        self.call_hook("before_run")
        self._init_model_weights()
        self.load_or_resume()
        self.optim_wrapper.initialize_count_status(self.model, loop.iter, loop.max_iters)
        restore = self._install_signal_handlers()
        try:
            with self._watchdog:
                model = loop.run()
        finally:
            restore()
        self.call_hook("after_run")
        return model

    def val(self) -> dict:
        """One validation pass (with ``load_from`` weights if set); returns the metrics."""
        return self._evaluate("val", "validation")

    def test(self) -> dict:
        """One test pass (with ``load_from`` weights if set); returns the metrics."""
        return self._evaluate("test", "test")

    def _evaluate(self, mode: str, what: str) -> dict:
        if getattr(self, f"_{mode}_loop") is None:
            raise RuntimeError(f"Runner has no {what} set up: pass {mode}_dataloader, {mode}_cfg and "
                               f"{mode}_evaluator")
        loop = getattr(self, f"{mode}_loop")
        self.call_hook("before_run")
        self.load_or_resume()
        with self._watchdog:
            metrics = loop.run()
        self.call_hook("after_run")
        return metrics

    def _init_model_weights(self) -> None:
        model = getattr(self.model, "module", self.model)
        if hasattr(model, "init_weights"):
            model.init_weights()

    def scale_lr(self, optim_wrapper, auto_scale_lr: Optional[dict] = None) -> None:
        """Multiply learning rates by (real total batch size / ``base_batch_size``) when enabled."""
        if not auto_scale_lr or not auto_scale_lr.get("enable", False):
            return
        if "base_batch_size" not in auto_scale_lr:
            raise ConfigKeyError("auto_scale_lr needs 'base_batch_size' (the batch size the lr was tuned for)")
        real = self.world_size * self.train_dataloader.batch_size
        ratio = real / auto_scale_lr["base_batch_size"]
        wrappers = optim_wrapper.values() if hasattr(optim_wrapper, "values") else [optim_wrapper]
        for wrapper in wrappers:
            for group in wrapper.param_groups:
                group["lr"] = group["lr"] * ratio
        self.logger.info(f"LR is scaled by {ratio:g} (total batch size {real}, base {auto_scale_lr['base_batch_size']})")

    # ================================================================== checkpoints
    def load_or_resume(self) -> None:
        if self._has_loaded:
            return
        resume_from = None
        if isinstance(self._resume, str) and self._resume != "auto":
            resume_from = self._resume
        elif self._resume:
            resume_from = find_latest_checkpoint(self.work_dir)
            if resume_from is None:
                self.logger.info(f"resume='auto': no checkpoint in {self.work_dir}; starting from scratch")
                resume_from = self._load_from if self._resume is True else None
        if resume_from is not None and self.train_loop_built:
            self.resume(resume_from)
        elif resume_from is not None or self._load_from is not None:
            self.load_checkpoint(resume_from or self._load_from)
        self._has_loaded = True

    def load_checkpoint(self, filename: str, map_location: Union[str, torch.device] = "cpu", strict: bool = False,
                        revise_keys=((r"^module\.", ""),)) -> dict:
        """Load weights only (``load_from``); hooks see the checkpoint before the model does."""
        from loomcv.model.checkpoint import _load_checkpoint, get_state_dict_from, load_state_dict, rename_keys
        checkpoint = _load_checkpoint(filename, map_location=map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        state_dict = rename_keys(get_state_dict_from(checkpoint, filename), revise_keys)
        load_state_dict(self.model, state_dict, strict=strict, source=repr(filename))  # logs the report
        return checkpoint

    def resume(self, filename: str, resume_optimizer: bool = True, resume_param_scheduler: bool = True) -> None:
        """Continue from a checkpoint: weights, optimizer, schedulers, counters, message hub, RNG."""
        self._resuming = True
        try:
            checkpoint = self.load_checkpoint(filename)
        finally:
            self._resuming = False
        meta = checkpoint.get("meta") or {}
        if "epoch" not in meta or "iter" not in meta:
            raise ValueError(f"cannot resume from {filename!r}: its meta has no epoch/iter (keys: "
                             f"{sorted(meta)}); use load_from for a weights-only file")
        loop = self.train_loop
        loop._epoch, loop._iter = int(meta["epoch"]), int(meta["iter"])
        loop.resume_position = int(meta.get("inner_iter", 0))
        if meta.get("seed") is not None and meta["seed"] != self.seed:
            self.logger.warning(f"the checkpoint was trained with seed {meta['seed']}, this run has "
                                f"{self.seed}; using the checkpoint's")
            self._seed = set_random_seed(meta["seed"], self._randomness_cfg.get("deterministic", False))
        if "message_hub" in checkpoint:
            self.message_hub.load_state_dict(checkpoint["message_hub"])
        if resume_optimizer and "optimizer" in checkpoint:
            self.optim_wrapper.load_state_dict(checkpoint["optimizer"])
        if resume_param_scheduler and "param_schedulers" in checkpoint:
            saved = checkpoint["param_schedulers"]
            if isinstance(self.param_schedulers, dict):
                for name, schedulers in self.param_schedulers.items():
                    for scheduler, state in zip(schedulers, saved[name]):
                        scheduler.load_state_dict(state)
            else:
                for scheduler, state in zip(self.param_schedulers, saved):
                    scheduler.load_state_dict(state)
        self._pending_rng = meta.get("rng")
        self._log_config_changes(meta, filename)
        self.logger.info(f"resumed from {filename}: epoch {loop.epoch}, iter {loop.iter}"
                         + (f" ({loop.resume_position} batches into the epoch)" if loop.resume_position else ""))

    def _log_config_changes(self, meta: dict, filename: str) -> None:
        """Log every leaf where this run's config differs from the one the checkpoint was trained with."""
        if self.cfg is None:
            return
        if not isinstance(meta.get("cfg_dict"), Mapping):
            self.logger.info(f"{filename} holds no config to compare this run's config with")
            return
        lines = config_changes(meta["cfg_dict"], self.cfg)
        if not lines:
            self.logger.info(f"the config matches the one {filename} was trained with")
            return
        self.logger.warning(f"the config differs from the one {filename} was trained with "
                            f"({len(lines)} change(s), old -> new):\n" + "\n".join("    " + line for line in lines))

    def _restore_pending_rng(self) -> None:
        """Apply the RNG states of a resumed checkpoint (called by the loop at the right moment)."""
        if self._pending_rng is not None:
            set_rng_state(self._pending_rng)
            self._pending_rng = None

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, meta: Optional[dict] = None, by_epoch: bool = True,
                        backend_args=None, position: Optional[dict] = None, mark_latest: bool = False) -> str:
        """Save a checkpoint (rank 0 writes); returns its path.

        ``position`` (epoch, iter, inner_iter done) defaults to MMEngine's convention
        for a call from ``after_train_epoch`` (``by_epoch``) or ``after_train_iter``.
        """
        loop = self.train_loop
        if position is None:
            position = (dict(epoch=self.epoch + 1, iter=self.iter, inner_iter=0) if by_epoch else
                        dict(epoch=self.epoch, iter=self.iter + 1, inner_iter=loop.inner_iter + 1))
        full_meta = dict(meta or {})
        full_meta.update(position)
        full_meta.update(seed=self.seed, experiment_name=self.experiment_name,
                         time=time.strftime("%Y%m%d_%H%M%S", time.localtime()),
                         loomcv_version=_version(),
                         rng=getattr(loop, "rng_before_validation", None) or get_rng_state())
        if self.cfg is not None:
            full_meta["cfg"] = _pretty(self.cfg)
            full_meta["cfg_dict"] = _primitive(self.cfg.to_dict() if hasattr(self.cfg, "to_dict") else self.cfg)
        meta_info = getattr(getattr(loop.dataloader, "dataset", None), "metainfo", None)
        if meta_info is not None:
            full_meta["dataset_meta"] = dict(meta_info)
        checkpoint: Dict[str, Any] = dict(meta=full_meta, state_dict=get_state_dict(self.model),
                                          message_hub=self.message_hub.state_dict())
        if save_optimizer and self.optim_wrapper is not None:
            checkpoint["optimizer"] = self.optim_wrapper.state_dict()
        if save_param_scheduler and self.param_schedulers:
            if isinstance(self.param_schedulers, dict):
                checkpoint["param_schedulers"] = {k: [s.state_dict() for s in v]
                                                  for k, v in self.param_schedulers.items()}
            else:
                checkpoint["param_schedulers"] = [s.state_dict() for s in self.param_schedulers]
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        path = osp.join(out_dir, filename)
        if self.rank == 0:
            save_checkpoint(checkpoint, path)
            if mark_latest:
                write_latest_marker(self.work_dir, path)
        dist.barrier()
        return path

    # ================================================================== preemption
    def _install_signal_handlers(self):
        """SIGTERM/SIGINT ask the loop to stop after the current iteration; a second one stops now."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {}

        def handler(signum, frame):
            if self._stop_signal is not None:
                signal.signal(signum, signal.SIG_DFL)
                raise KeyboardInterrupt
            self._stop_signal = signum

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, handler)

        def restore():
            for sig, old in previous.items():
                signal.signal(sig, old)
        return restore

    def save_interrupted(self) -> None:
        """Save where training stands after a stop signal, then raise :class:`TrainingInterrupted`."""
        signum = self._stop_signal
        loop = self.train_loop
        name = signal.Signals(signum).name
        self.logger.warning(f"received {name}: saving a checkpoint after iteration {loop.iter} and stopping")
        filename = f"iter_{loop.iter}.pth"
        path = self.save_checkpoint(self.work_dir, filename,
                                    position=dict(epoch=loop.epoch, iter=loop.iter, inner_iter=loop.inner_iter),
                                    mark_latest=True)
        self.logger.warning(f"saved {path}; continue with resume='auto' (loomcv train ... --resume)")
        raise TrainingInterrupted(signum, path)

    # ================================================================== start-up log
    def _log_start(self) -> None:
        info = _env_info(self)
        self.logger.info("\n" + "-" * 60 + "\nSystem environment:\n" +
                         "\n".join(f"    {k}: {v}" for k, v in info.items()) +
                         f"\n\nRuntime environment:\n    seed: {self.seed}\n    randomness: {self._randomness_cfg}"
                         f"\n    launcher: {self.launcher}\n    distributed: {self.distributed} "
                         f"(world size {self.world_size})\n" + "-" * 60)
        if self.cfg is not None:
            self.logger.info(f"Config:\n{_pretty(self.cfg)}")
        legacy = getattr(self.cfg, "legacy_keys", None)
        if legacy:
            self.logger.info(f"{getattr(self.cfg, 'filename', None) or 'the config'} is an MMCV 1.x config "
                             f"({', '.join(legacy)}); it runs as the native config above "
                             f"(`loomcv print-config CONFIG --translated --explain` maps each value)")
        self.logger.info(f"Hooks will be executed in the following order:\n{self.get_hooks_info()}")

    def _dump_config(self) -> None:
        if self.cfg is None or self.rank != 0:
            return
        filename = getattr(self.cfg, "filename", None)
        # named like the log file, so it is found beside it whatever the experiment name
        name = osp.basename(filename) if filename else f"{self._timestamp}.py"
        try:
            self.cfg.dump(osp.join(self._log_dir, name))
        except Exception as err:  # built objects in the config cannot be written out
            self.logger.warning(f"config not dumped to {self._log_dir}: {type(err).__name__}: {err}")


def _check_triplet(kind: str, values: dict) -> None:
    given = [k for k, v in values.items() if v is not None]
    if given and len(given) != len(values):
        missing = [k for k in values if k not in given]
        raise ConfigError(f"Runner: {kind} needs {', '.join(values)} together; got {', '.join(given)} "
                          f"but not {', '.join(missing)}")


def _pretty(cfg) -> str:
    try:
        return cfg.pretty_text
    except Exception:  # objects in the config
        return repr(cfg)


def _primitive(value: Any) -> Any:
    """``value`` with only dicts, lists, tuples, strings, numbers, bools and None (others as repr),
    so the config travels in a checkpoint that loads with ``weights_only=True``."""
    if isinstance(value, Mapping):
        return {k if isinstance(k, (str, int, float, bool)) else repr(k): _primitive(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_primitive(v) for v in value]
        return tuple(items) if type(value) is tuple else items
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def config_changes(stored: Optional[dict], current) -> List[str]:
    """Lines saying how ``current`` (a Config) differs from the ``stored`` plain config dict.

    One line per changed leaf: ``key.path: old -> new  (where new was set)``. ``resume``, which
    says where to continue from rather than what to train, is left out.
    """
    from loomcv.config import Config
    rows = Config(dict(stored or {})).diff(current if isinstance(current, Config) else Config(dict(current)))
    return [f"{path}: {old!r} -> {new!r}" + (f"  ({source})" if source else "")
            for path, old, new, _, source in rows if path != "resume"]


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("loomcv")
    except Exception:
        return "unknown"


def _env_info(runner) -> Dict[str, Any]:
    import numpy as np
    info = dict(sys_platform=platform.platform(), python=sys.version.replace("\n", " "),
                torch=torch.__version__, numpy=np.__version__, cuda_available=torch.cuda.is_available(),
                torch_threads=torch.get_num_threads(), device=str(runner.device), loomcv=_version())
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(runner.device)
    return info
