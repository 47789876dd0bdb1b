"""The checkpoint dict a Runner saves, and putting its training state back.

The layout is MMEngine's: ``meta`` (epoch, iter, ``inner_iter`` batches done
in the current epoch, seed, RNG states, the config as text and as plain data,
dataset meta), ``state_dict`` (the unwrapped model's weights on the CPU),
``message_hub``, ``optimizer`` and ``param_schedulers`` (a list, or a dict of
lists for an OptimWrapperDict). Hooks add their own entries in
``before_save_checkpoint``.
"""

import time
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Union

import torch
import torch.nn as nn

from loomcv import __version__
from loomcv.config.tree import map_tree
from loomcv.errors import CheckpointError

Schedulers = Union[None, List[Any], Dict[str, List[Any]]]


def weights_to_cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor moved to the CPU."""
    return map_tree(state, lambda v: v.detach().cpu() if isinstance(v, torch.Tensor) else v)


def get_state_dict(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """The model's state dict without wrapper prefixes, on the CPU."""
    from loomcv.model.wrappers import unwrap_model
    return weights_to_cpu(unwrap_model(model).state_dict())


def scheduler_states(schedulers: Schedulers) -> Union[list, dict]:
    """Each scheduler's ``state_dict()``, in the shape of ``schedulers`` (a list or a dict of lists)."""
    if isinstance(schedulers, dict):
        return {name: [s.state_dict() for s in group] for name, group in schedulers.items()}
    return [s.state_dict() for s in schedulers or []]


def load_scheduler_states(schedulers: Schedulers, saved: Union[list, dict], filename: str = "checkpoint") -> None:
    """Give each scheduler its saved state, pairing them by position (and by wrapper name)."""
    if isinstance(schedulers, dict):
        if not isinstance(saved, dict):
            raise CheckpointError(f"{filename!r} holds one list of param_schedulers, but this run has one "
                                  f"per optimizer ({', '.join(schedulers)})")
        missing = [name for name in schedulers if name not in saved]
        if missing:
            raise CheckpointError(f"{filename!r} has no param_schedulers for optimizer(s) {missing}; "
                                  f"it has {sorted(saved)}")
        for name, group in schedulers.items():
            for scheduler, state in zip(group, saved[name]):
                scheduler.load_state_dict(state)
        return
    if isinstance(saved, dict):
        raise CheckpointError(f"{filename!r} holds param_schedulers per optimizer ({', '.join(saved)}), "
                              "but this run has a single optimizer")
    for scheduler, state in zip(schedulers or [], saved):
        scheduler.load_state_dict(state)


def default_position(loop, by_epoch: bool) -> dict:
    """Where training stands when a checkpoint is saved from ``after_train_epoch`` (``by_epoch``)
    or ``after_train_iter``: the loop's counters have not yet moved past the finished step."""
    state = loop.state()
    if by_epoch:
        return dict(epoch=state["epoch"] + 1, iter=state["iter"], inner_iter=0)
    return dict(epoch=state["epoch"], iter=state["iter"] + 1, inner_iter=state["inner_iter"] + 1)


def build_checkpoint(runner, position: dict, meta: Optional[dict] = None, save_optimizer: bool = True,
                     save_param_scheduler: bool = True) -> Dict[str, Any]:
    """The checkpoint dict for ``runner`` at ``position`` (``epoch``, ``iter``, ``inner_iter``)."""
    from loomcv.config.record import config_text, plain_config
    from loomcv.runner.randomness import get_rng_state

    loop = runner.train_loop
    full_meta = dict(meta or {})
    full_meta.update(position)
    full_meta.update(seed=runner.seed, experiment_name=runner.experiment_name,
                     time=time.strftime("%Y%m%d_%H%M%S", time.localtime()), loomcv_version=__version__,
                     rng=getattr(loop, "rng_before_validation", None) or get_rng_state())
    if runner.cfg is not None:
        full_meta["cfg"] = config_text(runner.cfg)
        full_meta["cfg_dict"] = plain_config(runner.cfg)
    dataset_meta = getattr(getattr(loop.dataloader, "dataset", None), "metainfo", None)
    if dataset_meta is not None:
        full_meta["dataset_meta"] = dict(dataset_meta)
    checkpoint: Dict[str, Any] = dict(meta=full_meta, state_dict=get_state_dict(runner.model),
                                      message_hub=runner.message_hub.state_dict())
    if save_optimizer and runner.optim_wrapper is not None:
        checkpoint["optimizer"] = runner.optim_wrapper.state_dict()
    if save_param_scheduler and runner.param_schedulers:
        checkpoint["param_schedulers"] = scheduler_states(runner.param_schedulers)
    return checkpoint


def restore_checkpoint(runner, checkpoint: dict, filename: str, resume_optimizer: bool = True,
                       resume_param_scheduler: bool = True) -> dict:
    """Put the training state of ``checkpoint`` into ``runner`` (loop position, message hub,
    optimizer, schedulers) and return its meta. The weights are loaded before this."""
    meta = checkpoint.get("meta") or {}
    if "epoch" not in meta or "iter" not in meta:
        raise ValueError(f"cannot resume from {filename!r}: its meta has no epoch/iter (keys: "
                         f"{sorted(meta)}); use load_from for a weights-only file")
    runner.train_loop.restore(dict(epoch=int(meta["epoch"]), iter=int(meta["iter"]),
                                   inner_iter=int(meta.get("inner_iter", 0))))
    if "message_hub" in checkpoint:
        runner.message_hub.load_state_dict(checkpoint["message_hub"])
    if resume_optimizer and "optimizer" in checkpoint:
        runner.optim_wrapper.load_state_dict(checkpoint["optimizer"])
    if resume_param_scheduler and "param_schedulers" in checkpoint:
        load_scheduler_states(runner.param_schedulers, checkpoint["param_schedulers"], filename)
    return meta
