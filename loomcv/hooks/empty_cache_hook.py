"""EmptyCacheHook: return cached CUDA memory to the driver at chosen points."""

import torch

from loomcv.registry import HOOKS

from .hook import Hook


def _empty() -> None:
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@HOOKS.register_module()
class EmptyCacheHook(Hook):
    """Calls ``torch.cuda.empty_cache()`` before/after each epoch or after each iteration."""

    priority = "NORMAL"

    def __init__(self, before_epoch: bool = False, after_epoch: bool = True, after_iter: bool = False):
        self._before_epoch, self._after_epoch, self._after_iter = before_epoch, after_epoch, after_iter

    def _at_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._after_iter:
            _empty()

    def _at_epoch_start(self, runner) -> None:
        if self._before_epoch:
            _empty()

    def _at_epoch_end(self, runner, metrics=None) -> None:
        if self._after_epoch:
            _empty()

    after_train_iter = after_val_iter = after_test_iter = _at_iter
    before_train_epoch = before_val_epoch = before_test_epoch = _at_epoch_start

    def after_train_epoch(self, runner) -> None:
        self._at_epoch_end(runner)

    after_val_epoch = after_test_epoch = _at_epoch_end
