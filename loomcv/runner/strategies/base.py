"""Strategies: how a Runner places, wraps and checkpoints its model (MMEngine's ``strategy``).

``strategy=dict(type='DDPStrategy' | 'FSDPStrategy' | 'SingleDeviceStrategy', ...)``
in a config picks one; without it a run uses DDP when it has several
processes and the plain model otherwise, as it always did. A strategy also
carries the model features of the config (``compile``, ``activation_checkpointing``,
``channels_last``) because where they apply depends on the wrapping.

The Runner asks its strategy to prepare the model (at construction), to
prepare training once the optimizer is built (after sharding), to compile
(when training starts), and to read and write checkpoints.
"""

import os.path as osp
from typing import Any, Optional

import torch.nn as nn

from loomcv import dist
from loomcv.checkpoint import _load_checkpoint, save_checkpoint
from loomcv.registry import MODEL_WRAPPERS, Registry

from .features import compile_model, to_channels_last, turn_on_activation_checkpointing
from loomcv.checkpoint import is_sharded_checkpoint

from .sharded import load_sharded

STRATEGIES = Registry("strategy", scope="loomcv", locations=["loomcv.runner.strategies"])


class BaseStrategy:
    """What every strategy does: device placement, the model features, whole-file checkpoints.

    Args:
        compile: ``True`` or a dict of ``torch.compile`` arguments (applied when training starts).
        activation_checkpointing: module paths or class names whose activations are recomputed.
        channels_last: convolution weights and 4-D inputs in ``torch.channels_last``.
    """

    #: True when the model's own ``state_dict`` is not what a checkpoint should hold (sharded weights)
    custom_model_state = False

    def __init__(self, compile: Any = False, activation_checkpointing=None, channels_last: bool = False):
        self.compile = compile
        self.activation_checkpointing = activation_checkpointing
        self.channels_last = bool(channels_last)
        self.weights_initialized = False

    def __repr__(self) -> str:
        features = [f"{k}={v!r}" for k, v in (("compile", self.compile), ("channels_last", self.channels_last),
                                               ("activation_checkpointing", self.activation_checkpointing)) if v]
        return f"{type(self).__name__}({', '.join(features)})"

    # ------------------------------------------------------------ the model
    def prepare_model(self, runner, model: nn.Module) -> nn.Module:
        """Features that change the module (channels_last, activation checkpointing), then ``wrap``."""
        from loomcv.model import is_model_wrapper
        if is_model_wrapper(model):
            return model
        if not dist.is_distributed() and any(isinstance(m, nn.SyncBatchNorm) for m in model.modules()):
            from loomcv.model import revert_sync_batchnorm
            model = revert_sync_batchnorm(model)  # SyncBatchNorm needs a process group; MMEngine reverts it too
            runner.logger.info("not distributed: the model's SyncBatchNorm layers run as BatchNorm")
        if self.channels_last:
            weights = self.channels_last_parameters()
            to_channels_last(model, parameters=weights)
            runner.logger.info(f"channels_last: {'4-D parameters and ' if weights else ''}the preprocessed 4-D "
                               f"inputs use torch.channels_last")
        if self.activation_checkpointing:
            names = turn_on_activation_checkpointing(model, self.activation_checkpointing)
            runner.logger.info(f"activation checkpointing on {len(names)} module(s): {', '.join(names)}")
        return self.wrap(runner, model)

    def wrap(self, runner, model: nn.Module) -> nn.Module:
        return model.to(runner.device)

    def channels_last_parameters(self) -> bool:
        """Whether ``channels_last`` converts the parameters too (not only the inputs)."""
        return True

    def compile_model(self, runner) -> None:
        """Compile the model's forward when the config asks for it (once, when training starts)."""
        if self.compile:
            what = compile_model(runner.model, self.compile, runner.device)
            runner.logger.info(f"compile: {what}; the first iterations are slow while it compiles")

    def prepare_training(self, runner) -> None:
        """Called when training starts, once the optimizer exists (built after wrapping or sharding)."""

    # ------------------------------------------------------------ checkpoints
    def model_state_dict(self, model: nn.Module) -> Optional[dict]:
        """The weights a checkpoint holds when ``custom_model_state`` (else the payload's own)."""
        return None

    def adapt_state_dict(self, model: nn.Module, state_dict: dict) -> dict:
        """Weights read from a file, made loadable into ``model`` (full tensors into shards)."""
        return state_dict

    def write_checkpoint(self, checkpoint: dict, path: str, rank: int) -> None:
        """Rank 0 writes the whole checkpoint to one file."""
        if rank == 0:
            save_checkpoint(checkpoint, path)

    def read_checkpoint(self, path: str, model: nn.Module, optim_wrapper=None,
                        map_location: Any = "cpu") -> dict:
        """A checkpoint file (a path or URL), or a sharded checkpoint folder, as a dict."""
        if is_sharded_checkpoint(path):
            from loomcv.model.wrappers import unwrap_model
            optimizer = getattr(optim_wrapper, "optimizer", None)
            return load_sharded(path, unwrap_model(model), optimizer, name_keyed_optimizer=False)
        if osp.isdir(path):
            raise FileNotFoundError(f"{path!r} is a folder but not a sharded checkpoint (no .metadata in it)")
        return _load_checkpoint(path, map_location=map_location)


@STRATEGIES.register_module()
class SingleDeviceStrategy(BaseStrategy):
    """One process: the model on the runner's device, unwrapped."""


@STRATEGIES.register_module()
class DDPStrategy(BaseStrategy):
    """``DistributedDataParallel`` (``LoomDistributedDataParallel`` unless ``model_wrapper`` names
    another wrapper), whenever a process group exists, even with a single process.

    Args:
        model_wrapper: the wrapper config, e.g. ``dict(type='MMDistributedDataParallel',
            find_unused_parameters=True)``; defaults to the config's ``model_wrapper_cfg``.
        sync_bn: ``'torch'`` converts BatchNorm layers to SyncBatchNorm first; defaults to the
            config's top-level ``sync_bn``, as in MMEngine (MMCV's own SyncBN, ``'mmcv'``, is not here).

    The config's top-level ``find_unused_parameters`` goes to the default wrapper.
    """

    def __init__(self, model_wrapper: Optional[dict] = None, sync_bn: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        _check_sync_bn(sync_bn)
        self.model_wrapper = dict(model_wrapper) if model_wrapper else None
        self.sync_bn = sync_bn

    def wrap(self, runner, model: nn.Module) -> nn.Module:
        model = model.to(runner.device)
        if not dist.is_distributed():
            return model
        run_cfg = runner.cfg if runner.cfg is not None else {}
        sync_bn = self.sync_bn or run_cfg.get("sync_bn")
        _check_sync_bn(sync_bn)
        if sync_bn is not None:
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        cfg = self.model_wrapper or run_cfg.get("model_wrapper_cfg")
        cfg = dict(cfg or dict(type="LoomDistributedDataParallel",
                               find_unused_parameters=bool(run_cfg.get("find_unused_parameters", False))))
        cfg.setdefault("type", "LoomDistributedDataParallel")
        if cfg["type"] in ("MMFullyShardedDataParallel", "FullyShardedDataParallel"):
            from loomcv.errors import ConfigError
            raise ConfigError(f"model_wrapper_cfg type={cfg['type']!r}: FSDP is a strategy here, not a wrapper; "
                              "write strategy=dict(type='FSDPStrategy', ...) (see docs/distributed.md)")
        cfg.setdefault("module", model)
        if runner.device.type == "cuda":
            cfg.setdefault("device_ids", [runner.device.index])
        return MODEL_WRAPPERS.build(cfg)


def _check_sync_bn(sync_bn) -> None:
    if sync_bn not in (None, "torch"):
        from loomcv.errors import ConfigError
        raise ConfigError(f"DDPStrategy: sync_bn must be None or 'torch' (torch.nn.SyncBatchNorm; MMCV's "
                          f"own SyncBN is not available), got {sync_bn!r}")


def build_strategy(strategy, distributed: bool, **features) -> BaseStrategy:
    """The strategy a Runner uses: ``strategy`` (a config dict or an instance), else DDP for
    several processes and a single device otherwise. ``features`` are the config's
    ``compile``, ``activation_checkpointing`` and ``channels_last``."""
    if isinstance(strategy, BaseStrategy):
        for key, value in features.items():
            if value and not getattr(strategy, key):
                setattr(strategy, key, value)
        return strategy
    if strategy is None:
        return DDPStrategy(**features) if distributed else SingleDeviceStrategy(**features)
    if not hasattr(strategy, "keys"):
        raise TypeError(f"Runner: strategy must be a dict such as dict(type='FSDPStrategy') or a strategy "
                        f"object, got {type(strategy).__name__}")
    cfg = dict(strategy)
    for key, value in features.items():
        if value:
            cfg.setdefault(key, value)
    return STRATEGIES.build(cfg)

