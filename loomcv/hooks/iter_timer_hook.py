"""IterTimerHook: data time, step time and the ETA, measured on the host (no device sync)."""

import time
from typing import Optional

from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class IterTimerHook(Hook):
    """Records ``{mode}/data_time`` and ``{mode}/time`` each iteration and the training ``eta``."""

    priority = "NORMAL"

    def __init__(self):
        self._last = 0.0
        self._start_iter = 0
        self._time_sum = 0.0

    def before_train(self, runner) -> None:
        self._start_iter = runner.iter
        self._time_sum = 0.0

    def _before_epoch(self, runner) -> None:
        self._last = time.perf_counter()

    before_train_epoch = before_val_epoch = before_test_epoch = _before_epoch

    def _before_iter(self, runner, batch_idx: int, data_batch=None, mode: str = "train") -> None:
        now = time.perf_counter()
        runner.message_hub.update_scalar(f"{mode}/data_time", now - self._last)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        runner.message_hub.update_scalar("train/data_time", time.perf_counter() - self._last)

    def before_val_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._before_iter(runner, batch_idx, data_batch, "val")

    def before_test_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._before_iter(runner, batch_idx, data_batch, "test")

    def _after_iter(self, runner, mode: str) -> float:
        now = time.perf_counter()
        spent = now - self._last
        runner.message_hub.update_scalar(f"{mode}/time", spent)
        self._last = now
        return spent

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        now = time.perf_counter()
        spent, self._last = now - self._last, now
        hub = runner.message_hub
        hub.update_scalar("train/time", spent)
        self._time_sum += spent
        loop = runner.train_loop
        done = loop.iter + 1
        hub.update_info("eta", self._time_sum / (done - self._start_iter) * (loop.max_iters - done))

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._after_iter(runner, "val")

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._after_iter(runner, "test")
