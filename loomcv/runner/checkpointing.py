"""Loading, resuming and saving: the Runner's checkpoint methods, through its strategy.

The strategy decides how weights leave and enter the model (whole, or as
shards) and whether a checkpoint is one file or a folder; the payload (meta,
message hub, optimizer, schedulers, RNG) is :mod:`loomcv.checkpoint.payload`'s.
"""

import os.path as osp
from typing import Optional, Union

import torch
import torch.nn as nn

from loomcv import dist
from loomcv.checkpoint import (LAST_CHECKPOINT, build_checkpoint, default_position, find_latest_checkpoint,
                               get_state_dict_from, load_state_dict, rename_keys, restore_checkpoint,
                               write_latest_marker)

from .randomness import set_random_seed, set_rng_state


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint the ``last_checkpoint`` marker names: a file, or a sharded checkpoint folder."""
    found = find_latest_checkpoint(work_dir)
    if found is not None:
        return found
    marker = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(marker):
        return None
    with open(marker, encoding="utf-8") as f:
        path = f.read().strip()
    path = path if not path or osp.isabs(path) else osp.join(work_dir, path)
    return path if path and osp.isdir(path) else None


class _WithoutWeights:
    """The runner as ``build_checkpoint`` sees it, minus the model: the strategy supplies the weights."""

    model = nn.Module()

    def __init__(self, runner):
        self._runner = runner

    def __getattr__(self, name):
        return getattr(self._runner, name)


class CheckpointIO:
    """Mixed into the Runner: ``load_or_resume``, ``load_checkpoint``, ``resume``, ``save_checkpoint``."""

    def load_or_resume(self) -> None:
        if self._has_loaded:
            return
        resume_from = None
        if isinstance(self._resume, str) and self._resume != "auto":
            resume_from = self._resume
        elif self._resume:
            resume_from = latest_checkpoint(self.work_dir)
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
        """Load weights only (``load_from``); hooks see the checkpoint before the model does.

        ``filename`` is a file, a URL, or a sharded checkpoint folder.
        """
        optim_wrapper = self.optim_wrapper if self._resuming and hasattr(self.optim_wrapper, "state_dict") else None
        checkpoint = self.strategy.read_checkpoint(filename, self.model, optim_wrapper, map_location)
        self.call_hook("after_load_checkpoint", checkpoint=checkpoint)
        state_dict = rename_keys(get_state_dict_from(checkpoint, filename), revise_keys)
        state_dict = self.strategy.adapt_state_dict(self.model, state_dict)
        load_state_dict(self.model, state_dict, strict=strict, source=repr(filename))  # logs the report
        return checkpoint

    def resume(self, filename: str, resume_optimizer: bool = True, resume_param_scheduler: bool = True) -> None:
        """Continue from a checkpoint: weights, optimizer, schedulers, counters, message hub, RNG."""
        from loomcv.config.record import describe_config_changes
        self._resuming = True
        try:
            checkpoint = self.load_checkpoint(filename)
        finally:
            self._resuming = False
        meta = restore_checkpoint(self, checkpoint, filename, resume_optimizer, resume_param_scheduler)
        if meta.get("seed") is not None and meta["seed"] != self.seed:
            self.logger.warning(f"the checkpoint was trained with seed {meta['seed']}, this run has "
                                f"{self.seed}; using the checkpoint's")
            self._seed = set_random_seed(meta["seed"], self._randomness_cfg.get("deterministic", False))
        self._pending_rng = meta.get("rng")
        if self.cfg is not None:  # log what changed since the checkpoint's run
            self.logger.log(*describe_config_changes(meta.get("cfg_dict"), self.cfg, filename))
        state = self.train_loop.state()
        self.logger.info(f"resumed from {filename}: epoch {state['epoch']}, iter {state['iter']}"
                         + (f" ({state['inner_iter']} batches into the epoch)" if state["inner_iter"] else ""))

    def _restore_pending_rng(self) -> None:
        """Apply the RNG states of a resumed checkpoint (called by the loop at the right moment)."""
        if self._pending_rng is not None:
            set_rng_state(self._pending_rng)
            self._pending_rng = None

    def save_checkpoint(self, out_dir: str, filename: str, file_client_args=None, save_optimizer: bool = True,
                        save_param_scheduler: bool = True, meta: Optional[dict] = None, by_epoch: bool = True,
                        backend_args=None, position: Optional[dict] = None, mark_latest: bool = False) -> str:
        """Save a checkpoint (rank 0 writes a file; a sharded strategy writes a folder); returns its path.

        ``position`` (epoch, iter, inner_iter done) defaults to MMEngine's convention
        for a call from ``after_train_epoch`` (``by_epoch``) or ``after_train_iter``.
        Every rank must call it.
        """
        if position is None:
            position = default_position(self.train_loop, by_epoch)
        strategy = self.strategy
        weights = strategy.model_state_dict(self.model) if strategy.custom_model_state else None
        if weights is not None:  # gathered or sharded by the strategy; the payload's copy is skipped
            checkpoint = build_checkpoint(_WithoutWeights(self), position, meta, save_optimizer,
                                          save_param_scheduler)
            checkpoint["state_dict"] = weights
        else:
            checkpoint = build_checkpoint(self, position, meta, save_optimizer, save_param_scheduler)
        self.call_hook("before_save_checkpoint", checkpoint=checkpoint)
        path = osp.join(out_dir, filename)
        strategy.write_checkpoint(checkpoint, path, self.rank)
        if self.rank == 0 and mark_latest:
            write_latest_marker(self.work_dir, path)
        dist.barrier()
        return path

    def save_interrupted(self) -> None:
        """Save where training stands after a stop signal, then raise :class:`TrainingInterrupted`."""
        self._preemption.save_and_exit()
