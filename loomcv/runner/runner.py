"""Runner: builds everything a config names and drives training, validation and testing.

The constructor takes built objects or their configs; dataloaders, optim
wrappers and schedulers are built when a loop first needs them. See
docs/runner_and_hooks.md.
"""

import copy
import os
import os.path as osp
import time
from collections.abc import Mapping
from typing import List, Optional, Union

import torch.nn as nn

from loomcv import dist
from loomcv.dist.watchdog import build_watchdog
from loomcv.errors import ConfigError, ConfigKeyError, did_you_mean
from loomcv.logging import MessageHub
from loomcv.model.wrappers import unwrap_model
from loomcv.registry import RUNNERS, DefaultScope

from .build import BuildSteps, as_config, check_triplet, is_dataloader_like
from .checkpointing import CheckpointIO
from .hook_dispatch import DEFAULT_HOOKS, HookDispatch  # noqa: F401  (DEFAULT_HOOKS: public here too)
from .loops import BaseLoop
from .preemption import Preemption, TrainingInterrupted  # noqa: F401  (TrainingInterrupted: public here too)
from .randomness import set_random_seed
from .startup import dump_config, log_start, setup_env
from .strategies import build_strategy

RANDOMNESS_KEYS = ("seed", "deterministic", "diff_rank_seed")


@RUNNERS.register_module(name=["Runner", "FlexibleRunner"])
class Runner(BuildSteps, HookDispatch, CheckpointIO):
    """Args follow MMEngine's Runner: ``model``, ``work_dir``, the three dataloaders and their
    ``*_cfg``, ``optim_wrapper``, ``param_scheduler``, ``val_evaluator``/``test_evaluator``,
    ``default_hooks``, ``custom_hooks``, ``data_preprocessor``, ``load_from``, ``resume``
    (False, True/'auto' for the latest checkpoint in ``work_dir``, or a path), ``launcher``
    ('none' | 'pytorch' | 'slurm'), ``env_cfg``, ``log_processor``, ``log_level``,
    ``visualizer``, ``default_scope``, ``randomness``, ``experiment_name``, ``auto_scale_lr``
    and ``cfg`` (the whole config, dumped into the log folder). As MMEngine's FlexibleRunner
    (``runner_type='FlexibleRunner'`` names this class): ``strategy`` (DDP, FSDP; see
    docs/distributed.md), ``compile``, ``activation_checkpointing`` and ``channels_last``.
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
                 randomness: Optional[dict] = None, experiment_name: Optional[str] = None, cfg=None,
                 strategy=None, compile=False, activation_checkpointing=None, channels_last: bool = False):
        if work_dir is None:
            raise ConfigKeyError("Runner needs a work_dir (set `work_dir` in the config or pass --work-dir)")
        self._work_dir = osp.abspath(work_dir)
        os.makedirs(self._work_dir, exist_ok=True)
        self.cfg = as_config(cfg)

        check_triplet("train", dict(train_dataloader=train_dataloader, train_cfg=train_cfg,
                                    optim_wrapper=optim_wrapper))
        check_triplet("val", dict(val_dataloader=val_dataloader, val_cfg=val_cfg, val_evaluator=val_evaluator))
        check_triplet("test", dict(test_dataloader=test_dataloader, test_cfg=test_cfg, test_evaluator=test_evaluator))
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
        self._preemption = Preemption(self)

        # environment, distributed, randomness
        self._launcher = launcher
        self._env_cfg = dict(env_cfg or {})
        self._dist_cfg = dict(self._env_cfg.get("dist_cfg") or {})
        self.setup_env(self._env_cfg)
        self._rank, self._world_size = dist.get_dist_info()
        self._randomness_cfg = dict(randomness or {})
        unknown = set(self._randomness_cfg) - set(RANDOMNESS_KEYS)
        if unknown:
            raise ConfigError(f"randomness: unknown key(s) {sorted(unknown)}; valid keys: {RANDOMNESS_KEYS}")
        self.set_randomness(**self._randomness_cfg)

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
        self.logger = self.build_logger(log_level=log_level)
        self.message_hub = self.build_message_hub()
        self._watchdog = build_watchdog(self._dist_cfg, self.distributed, self.rank, self.logger)
        # the scope first: the visualizer, log processor and hooks are looked up in it
        self.default_scope = DefaultScope.get_instance(experiment_name, scope_name=default_scope)
        self.visualizer = self.build_visualizer(visualizer)
        if self.cfg is not None:
            try:
                self.visualizer.add_config(self.cfg)
            except Exception as err:  # a config holding objects cannot be written as text
                self.logger.warning(f"config not written to the vis backends: {err}")

        self.log_processor = self.build_log_processor(log_processor)
        self.strategy = build_strategy(strategy, self.distributed, compile=compile, channels_last=channels_last,
                                       activation_checkpointing=activation_checkpointing)
        if isinstance(model, Mapping) and data_preprocessor is not None:
            model = dict(model, data_preprocessor=model.get("data_preprocessor", data_preprocessor))
        self.model = self.wrap_model(self.cfg.get("model_wrapper_cfg") if self.cfg is not None else None,
                                     self.build_model(model))
        self._init_hooks()
        self.register_hooks(default_hooks, custom_hooks)
        log_start(self)
        dump_config(self)

    # ================================================================== building
    @classmethod
    def from_cfg(cls, cfg) -> "Runner":
        """Build a Runner from a config (Config, ConfigDict or dict) in the MMEngine schema."""
        if not isinstance(cfg, Mapping) and not hasattr(cfg, "get"):
            raise TypeError(f"Runner.from_cfg takes a Config or a dict, got {type(cfg).__name__}")
        runner_type = cfg.get("runner_type")
        if runner_type is not None and runner_type not in ("Runner", "FlexibleRunner", cls.__name__):
            runner_cls = RUNNERS.get(runner_type)
            if runner_cls is None:
                raise ConfigError(f"runner_type={runner_type!r} is not a registered runner."
                                  f"{did_you_mean(str(runner_type), RUNNERS.visible_names())}")
            if runner_cls is not cls:
                return runner_cls.from_cfg(cfg)
        cfg = copy.deepcopy(cfg)
        if cfg.get("model") is None:
            raise ConfigKeyError("Runner.from_cfg: the config has no 'model'")
        if cfg.get("work_dir") is None:
            raise ConfigKeyError("Runner.from_cfg: the config has no 'work_dir' (set it, or pass --work-dir)")
        args = {name: cfg.get(name) for name in (
            "train_dataloader", "val_dataloader", "test_dataloader", "train_cfg", "val_cfg", "test_cfg",
            "auto_scale_lr", "optim_wrapper", "param_scheduler", "val_evaluator", "test_evaluator",
            "default_hooks", "custom_hooks", "data_preprocessor", "load_from", "env_cfg", "log_processor",
            "visualizer", "randomness", "experiment_name", "strategy", "activation_checkpointing")}
        return cls(model=cfg["model"], work_dir=cfg["work_dir"], resume=cfg.get("resume", False),
                   launcher=cfg.get("launcher", "none"), log_level=cfg.get("log_level", "INFO"),
                   default_scope=cfg.get("default_scope", "loomcv"), cfg=cfg, compile=cfg.get("compile", False),
                   channels_last=cfg.get("channels_last", False), **args)

    # ================================================================== MMEngine's set-up steps
    def setup_env(self, env_cfg: dict) -> None:
        """Apply ``env_cfg`` (cudnn, multiprocessing, distributed back end) and pick the device."""
        self.device = setup_env(dict(env_cfg or {}), self._launcher)

    def set_randomness(self, seed: Optional[int] = None, diff_rank_seed: bool = False,
                       deterministic: bool = False) -> None:
        """Seed python, numpy and torch (``randomness`` in the config); ``runner.seed`` is the seed used."""
        given = dict(seed=seed, diff_rank_seed=diff_rank_seed, deterministic=deterministic)
        self._seed = set_random_seed(**given)
        self._randomness_cfg = {k: v for k, v in given.items() if k in self._randomness_cfg or v}
        self._randomness_cfg["seed"] = self._seed - (dist.get_rank() if diff_rank_seed else 0)

    def dump_config(self) -> None:
        """Write the config into ``work_dir`` and the log folder (done once at start-up)."""
        dump_config(self)

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
        return obj if is_dataloader_like(obj) else None

    epoch = property(lambda self: self._train_loop.epoch if isinstance(self._train_loop, BaseLoop) else 0)
    iter = property(lambda self: self._train_loop.iter if isinstance(self._train_loop, BaseLoop) else 0)
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
    stop_requested = property(lambda self: self._preemption.requested)
    # MMEngine's shortcuts into the loops and settings
    val_evaluator = property(lambda self: self.val_loop.evaluator)
    test_evaluator = property(lambda self: self.test_loop.evaluator)
    val_interval = property(lambda self: self.train_loop.val_interval)
    val_begin = property(lambda self: self.train_loop.val_begin)
    deterministic = property(lambda self: bool(self._randomness_cfg.get("deterministic", False)))
    model_name = property(lambda self: type(unwrap_model(self.model)).__name__)

    # ================================================================== run
    def train(self) -> nn.Module:
        """Train (and validate) as train_cfg says; returns the model."""
        loop = self.train_loop
        self.optim_wrapper = self.build_optim_wrapper(self.optim_wrapper)
        self.strategy.prepare_training(self)
        self.scale_lr(self.optim_wrapper, self.auto_scale_lr)
        self.param_schedulers = self.build_param_scheduler(self.param_schedulers)
        if self._val_loop is not None:
            self.val_loop  # noqa: B018  (building it now lets hooks see it)
        self.call_hook("before_run")
        self._init_model_weights()
        self.load_or_resume()
        self.optim_wrapper.initialize_count_status(self.model, loop.iter, loop.max_iters)
        self.strategy.compile_model(self)  # after loading, as MMEngine does
        with self._preemption.handlers(), self._watchdog:
            model = loop.run()
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
        model = unwrap_model(self.model)
        if hasattr(model, "init_weights") and not self.strategy.weights_initialized:
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
        base = auto_scale_lr["base_batch_size"]
        self.logger.info(f"LR is scaled by {ratio:g} (total batch size {real}, base {base})")
