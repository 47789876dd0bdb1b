"""CheckpointHook: periodic, last and best checkpoints, keeping at most ``max_keep_ckpts``.

The kept checkpoints' steps live in the message hub (``keep_ckpt_ids``, as in
MMEngine), written before each save so every checkpoint lists itself: a
resumed run goes on removing the files of the runs before it. A checkpoint a
stop signal wrote (the latest one, outside the kept list) is removed once
the resumed run has saved a newer periodic one.
"""

import math
import os
import os.path as osp
import shutil
import warnings
from typing import List, Optional, Sequence, Union

from loomcv.checkpoint import find_latest_checkpoint, is_sharded_checkpoint
from loomcv.errors import ConfigError, did_you_mean
from loomcv.registry import HOOKS
from loomcv.validation import check_choice

from .hook import Hook

GREATER_KEYS = ("acc", "top", "ar@", "auc", "precision", "map", "mdice", "miou", "macc", "aacc", "f1",
                "recall")
LESS_KEYS = ("loss", "error", "err")
RULES = {"greater": lambda new, best: new > best, "less": lambda new, best: new < best}


@HOOKS.register_module()
class CheckpointHook(Hook):
    """Args:
        interval: save every this many epochs (``by_epoch``) or iterations; -1 only saves the last.
        by_epoch: count ``interval`` in epochs or iterations.
        save_optimizer, save_param_scheduler: include their states (needed to resume).
        out_dir: save under ``out_dir/<basename of work_dir>`` instead of ``work_dir``.
        max_keep_ckpts: keep only the newest N periodic checkpoints (-1: all).
        save_last: also save after the last epoch/iteration when it is off the interval.
        save_best: ``'auto'`` (the first metric, of the first set when there are several) or
            metric key(s) such as ``'accuracy/top1'`` or ``'cifar10-c/accuracy/top1'``; the best
            checkpoint is kept as ``best_<key>_<epoch|iter>_N.pth``, replacing the previous best.
            It is a full training state (optimizer, schedulers, counters, RNG): ``resume`` takes it.
        rule: ``'greater'`` or ``'less'`` (one, or one per key); inferred from the key when None.
        save_begin: first epoch/iteration at which periodic saving may happen.
        file_client_args: deprecated (MMEngine: ``backend_args``); only the local disk is supported.
        sync_buffer: deprecated (MMCV 1.x): average buffers over the ranks before each save;
            write ``custom_hooks=[dict(type='SyncBuffersHook')]`` instead.
    """

    priority = "VERY_LOW"

    def __init__(self, interval: int = -1, by_epoch: bool = True, save_optimizer: bool = True,
                 save_param_scheduler: bool = True, out_dir: Optional[str] = None, max_keep_ckpts: int = -1,
                 save_last: bool = True, save_best: Union[None, str, Sequence[str]] = None,
                 rule: Union[None, str, Sequence[str]] = None, greater_keys: Optional[Sequence[str]] = None,
                 less_keys: Optional[Sequence[str]] = None, filename_tmpl: Optional[str] = None,
                 save_begin: int = 0, backend_args: Optional[dict] = None, published_keys=None,
                 file_client_args: Optional[dict] = None, sync_buffer: bool = False):
        if file_client_args is not None:
            backend = dict(file_client_args).get("backend", "disk")
            check_choice(self, "file_client_args.backend", backend, ("disk", "local"))
            warnings.warn("CheckpointHook: file_client_args is deprecated (MMEngine renamed it backend_args) "
                          "and has no effect for the local disk; remove it", FutureWarning, stacklevel=2)
        if sync_buffer:
            warnings.warn("CheckpointHook: sync_buffer is deprecated (MMCV 1.x); write "
                          "custom_hooks=[dict(type='SyncBuffersHook')] instead", FutureWarning, stacklevel=2)
        self.sync_buffer = bool(sync_buffer)
        self.interval = int(interval)
        self.by_epoch = by_epoch
        self.save_optimizer = save_optimizer
        self.save_param_scheduler = save_param_scheduler
        self.out_dir = out_dir
        self.max_keep_ckpts = int(max_keep_ckpts)
        self.save_last = save_last
        self.save_begin = int(save_begin)
        self.filename_tmpl = filename_tmpl or ("epoch_{}.pth" if by_epoch else "iter_{}.pth")
        self.greater_keys = tuple(k.lower() for k in (greater_keys or GREATER_KEYS))
        self.less_keys = tuple(k.lower() for k in (less_keys or LESS_KEYS))
        if save_best is None:
            self.save_best: List[str] = []
        elif isinstance(save_best, str):
            self.save_best = [save_best]
        else:
            self.save_best = list(save_best)
        if "auto" in self.save_best and len(self.save_best) > 1:
            raise ConfigError("CheckpointHook: save_best='auto' cannot be combined with other keys")
        rules = [rule] * len(self.save_best) if rule is None or isinstance(rule, str) else list(rule)
        if len(rules) != len(self.save_best):
            raise ConfigError(f"CheckpointHook: {len(rules)} rule(s) for {len(self.save_best)} save_best key(s)")
        for r in rules:
            if r is not None:
                check_choice(self, "rule", r, RULES)
        self.rules = rules
        self.best_ckpt_paths: dict = {}
        #: steps (epochs or iterations) of the periodic checkpoints kept, oldest first
        self.keep_ckpt_ids: List[Union[int, str]] = []
        self._superseded: Optional[str] = None
        self._last_saved: Optional[str] = None

    # ---------------------------------------------------------------- setup
    def before_train(self, runner) -> None:
        base = runner.work_dir if self.out_dir is None else osp.join(self.out_dir, osp.basename(runner.work_dir))
        self.out_dir = base
        hub = runner.message_hub
        for key in self.save_best:
            path = hub.get_info(f"best_ckpt_{key}") if key != "auto" else hub.get_info("best_ckpt")
            if path:
                self.best_ckpt_paths[key] = path
        self.keep_ckpt_ids = list(hub.get_info("keep_ckpt_ids", []) or [])  # restored by a resume
        if self.max_keep_ckpts > 0:
            while len(self.keep_ckpt_ids) > self.max_keep_ckpts:  # e.g. max_keep_ckpts lowered
                self._remove(runner, self._path(self.keep_ckpt_ids.pop(0)))
            hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
            self._superseded = self._interrupted_checkpoint(runner)

    def _path(self, entry: Union[int, str]) -> str:
        """A kept entry's file: MMEngine's step number (or an older loomcv path)."""
        return entry if isinstance(entry, str) else osp.join(self.out_dir, self.filename_tmpl.format(entry))

    def _interrupted_checkpoint(self, runner) -> Optional[str]:
        """The checkpoint a stop signal left, when this run resumed from it: the latest one, outside
        the kept list, best checkpoints and this hook's own file names."""
        if runner.iter == 0 and runner.epoch == 0:
            return None
        latest = find_latest_checkpoint(runner.work_dir)
        if latest is None or osp.dirname(osp.abspath(latest)) != osp.abspath(self.out_dir):
            return None
        own = {osp.abspath(self._path(e)) for e in self.keep_ckpt_ids}
        own |= {osp.abspath(p) for p in self.best_ckpt_paths.values()}
        return None if osp.abspath(latest) in own else latest

    @staticmethod
    def _remove(runner, path: str) -> None:
        """Delete a checkpoint file, or a sharded strategy's checkpoint folder (rank 0)."""
        if runner.rank != 0:
            return
        if osp.isfile(path):
            os.remove(path)
        elif is_sharded_checkpoint(path):
            shutil.rmtree(path)

    # ---------------------------------------------------------------- periodic
    def after_train_epoch(self, runner) -> None:
        if not self.by_epoch:
            return
        if (self.every_n_epochs(runner, self.interval, self.save_begin) or
                (self.save_last and self.is_last_train_epoch(runner))):
            self._save(runner, runner.epoch + 1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.by_epoch:
            return
        if (self.every_n_train_iters(runner, self.interval, self.save_begin) or
                (self.save_last and self.is_last_train_iter(runner))):
            self._save(runner, runner.iter + 1)

    def _save(self, runner, step: int) -> None:
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        if path == self._last_saved:  # e.g. the last epoch is also on the interval
            return
        if self.sync_buffer:
            from .sync_buffers_hook import SyncBuffersHook
            SyncBuffersHook()._sync(runner)
        hub = runner.message_hub
        before = list(self.keep_ckpt_ids)
        dropped: List[Union[int, str]] = []
        if self.max_keep_ckpts > 0:
            kept = [e for e in before if e != step] + [step]
            dropped, kept = kept[:-self.max_keep_ckpts], kept[-self.max_keep_ckpts:]
            self.keep_ckpt_ids = kept
            hub.update_info("keep_ckpt_ids", list(kept))  # before saving: the checkpoint lists itself
        try:
            runner.save_checkpoint(self.out_dir, filename, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler, by_epoch=self.by_epoch,
                                   mark_latest=True)
        except BaseException:
            self.keep_ckpt_ids = before
            hub.update_info("keep_ckpt_ids", list(before))
            raise
        self._last_saved = path
        for entry in dropped:  # only once the new file is safely written
            if osp.abspath(self._path(entry)) != osp.abspath(path):
                self._remove(runner, self._path(entry))
        if self._superseded is not None and osp.abspath(self._superseded) != osp.abspath(path):
            self._remove(runner, self._superseded)
            self._superseded = None

    # ---------------------------------------------------------------- best
    def _rule_for(self, key: str, rule: Optional[str]) -> str:
        """The rule given, else one inferred from the key's name, its last part first
        (so a set prefix such as ``cifar10-c/`` does not decide)."""
        if rule is not None:
            return rule
        parts = key.lower().split("/")
        for part in [parts[-1], "/".join(parts[1:]), "/".join(parts)]:
            if any(k in part for k in self.greater_keys):
                return "greater"
            if any(k in part for k in self.less_keys):
                return "less"
        raise ConfigError(f"CheckpointHook: cannot tell whether a larger {key!r} is better; set "
                          f"rule='greater' or rule='less' (or greater_keys/less_keys)")

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        """Save a full training state (resumable like a periodic one) when a save_best metric improves."""
        if not self.save_best or not metrics or not runner.train_loop_built:
            return
        hub = runner.message_hub
        for key, rule in zip(self.save_best, self.rules):
            metric_key = next(iter(metrics)) if key == "auto" else key
            if metric_key not in metrics:
                raise ConfigError(f"CheckpointHook: save_best key {metric_key!r} is not among the validation "
                                  f"metrics; available: {', '.join(metrics)}.{did_you_mean(metric_key, metrics)}")
            rule = self._rule_for(metric_key, rule)
            value = float(metrics[metric_key])
            info_key = "best_score" if key == "auto" else f"best_score_{key}"
            best = hub.get_info(info_key)
            if best is None:
                best = -math.inf if rule == "greater" else math.inf
            if not RULES[rule](value, best):
                continue
            old = self.best_ckpt_paths.get(key)
            if old:
                self._remove(runner, old)
            unit = "epoch" if self.by_epoch else "iter"
            step = runner.epoch if self.by_epoch else runner.iter
            filename = f"best_{metric_key.replace('/', '_')}_{unit}_{step}.pth"
            path = osp.join(self.out_dir, filename)
            self.best_ckpt_paths[key] = path
            # recorded before saving, so a run resumed from this file knows it is the best so far
            hub.update_info(info_key, value)
            hub.update_info("best_ckpt" if key == "auto" else f"best_ckpt_{key}", path)
            runner.save_checkpoint(self.out_dir, filename, save_optimizer=self.save_optimizer,
                                   save_param_scheduler=self.save_param_scheduler,
                                   position=runner.train_loop.state())
            runner.logger.info(f"The best checkpoint with {value:.4f} {metric_key} at {step} {unit} "
                               f"is saved to {filename}.")
