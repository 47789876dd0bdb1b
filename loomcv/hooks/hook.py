"""The Hook base class: every point where the Runner lets user code in.

A subclass overrides only the stages it cares about. The Runner asks
:meth:`Hook.stages` which ones those are and calls a hook only at those, so an
unused stage costs nothing. Hooks written for MMCV 1.x run too: their
``before_epoch``/``after_epoch``/``before_iter``/``after_iter`` are called at
the train and val stages, and stage methods that take only ``runner`` are
called without the batch arguments (:mod:`loomcv.legacy.hook_api`).
"""

import warnings
from typing import Any, Optional, Sequence, Tuple

from loomcv.legacy.hook_api import (STAGE_ARGUMENTS, STAGE_TO_GENERIC, explain_missing, runner_only,
                                    takes_stage_arguments)

DATA_BATCH = Optional[Any]

#: Every stage, in the order a train+val+test run meets them.
STAGES: Tuple[str, ...] = (
    "before_run", "after_load_checkpoint",
    "before_train", "before_train_epoch", "before_train_iter", "after_train_iter", "after_train_epoch",
    "before_val", "before_val_epoch", "before_val_iter", "after_val_iter", "after_val_epoch", "after_val",
    "before_save_checkpoint", "after_train",
    "before_test", "before_test_epoch", "before_test_iter", "after_test_iter", "after_test_epoch",
    "after_test", "after_run",
)


class Hook:
    """Base class of hooks; see docs/runner_and_hooks.md.

    ``priority`` is set on the instance by the Runner when the hook is
    registered (``'NORMAL'`` unless the class or config says otherwise).
    """

    priority = "NORMAL"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for stage in STAGES:
            fn = cls.__dict__.get(stage)
            if callable(fn) and not takes_stage_arguments(fn, stage):
                missing = ", ".join(STAGE_ARGUMENTS[stage])
                warnings.warn(f"{cls.__name__}.{stage}(self, runner) has MMCV 1.x's signature: it runs, called "
                              f"without {missing}; to receive them write {_SIGNATURES.get(stage, stage)}",
                              FutureWarning, stacklevel=2)
                setattr(cls, stage, runner_only(fn, cls.__name__, stage))

    def before_run(self, runner) -> None: ...
    def after_run(self, runner) -> None: ...
    def before_train(self, runner) -> None: ...
    def after_train(self, runner) -> None: ...
    def before_val(self, runner) -> None: ...
    def after_val(self, runner) -> None: ...
    def before_test(self, runner) -> None: ...
    def after_test(self, runner) -> None: ...
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None: ...
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None: ...

    def before_train_epoch(self, runner) -> None:
        self._generic("before_epoch", runner)

    def before_val_epoch(self, runner) -> None:
        self._generic("before_epoch", runner)

    def before_test_epoch(self, runner) -> None: ...

    def after_train_epoch(self, runner) -> None:
        self._generic("after_epoch", runner)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._generic("after_epoch", runner)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None: ...

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._generic("before_iter", runner)

    def before_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None:
        self._generic("before_iter", runner)

    def before_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None: ...

    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None:
        self._generic("after_iter", runner)

    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs: Optional[Sequence] = None) -> None:
        self._generic("after_iter", runner)

    def after_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Optional[Sequence] = None) -> None: ...

    # ------------------------------------------------ MMCV 1.x generic stages
    def before_epoch(self, runner) -> None:
        """MMCV 1.x: before each training and validation epoch."""

    def after_epoch(self, runner) -> None:
        """MMCV 1.x: after each training and validation epoch."""

    def before_iter(self, runner) -> None:
        """MMCV 1.x: before each training and validation iteration."""

    def after_iter(self, runner) -> None:
        """MMCV 1.x: after each training and validation iteration."""

    def _generic(self, name: str, runner) -> None:
        fn = getattr(type(self), name)
        if fn is not getattr(Hook, name):
            explain_missing(fn, self, runner, type(self).__name__, name)

    # ----------------------------------------------------------- helpers
    def stages(self) -> Tuple[str, ...]:
        """The stages this hook's class overrides (the ones worth calling), counting an MMCV 1.x
        ``before_epoch``-style override as its train and val stages."""
        cls = type(self)

        def overridden(name: str) -> bool:
            return getattr(cls, name) is not getattr(Hook, name)

        return tuple(s for s in STAGES
                     if overridden(s) or (s in STAGE_TO_GENERIC and overridden(STAGE_TO_GENERIC[s])))

    def get_triggered_stages(self) -> list:
        """MMCV 1.x's name for :meth:`stages`."""
        return list(Hook.stages(self))

    @staticmethod
    def every_n_epochs(runner, n: int, start: int = 0) -> bool:
        done = runner.epoch + 1 - start
        return n > 0 and done > 0 and done % n == 0

    @staticmethod
    def every_n_train_iters(runner, n: int, start: int = 0) -> bool:
        done = runner.iter + 1 - start
        return n > 0 and done > 0 and done % n == 0

    @staticmethod
    def every_n_iters(runner, n: int) -> bool:
        """MMCV 1.x's name for :meth:`every_n_train_iters`."""
        return Hook.every_n_train_iters(runner, n)

    @staticmethod
    def every_n_inner_iters(batch_idx: int, n: int) -> bool:
        if not isinstance(batch_idx, int):
            raise TypeError("Hook.every_n_inner_iters(batch_idx, n) takes the batch index; MMCV 1.x's "
                            "every_n_inner_iters(runner, n) is written self.every_n_inner_iters(batch_idx, n) in "
                            "a stage that receives it (def after_train_iter(self, runner, batch_idx, ...))")
        return n > 0 and (batch_idx + 1) % n == 0

    @staticmethod
    def end_of_epoch(dataloader, batch_idx: Optional[int] = None) -> bool:
        if batch_idx is None:
            raise TypeError("Hook.end_of_epoch(dataloader, batch_idx): MMCV 1.x's end_of_epoch(runner) is "
                            "written self.end_of_epoch(runner.train_dataloader, batch_idx) in a stage that "
                            "receives batch_idx (def after_train_iter(self, runner, batch_idx, ...))")
        return batch_idx + 1 == len(dataloader)

    @staticmethod
    def is_last_train_epoch(runner) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    @staticmethod
    def is_last_train_iter(runner) -> bool:
        return runner.iter + 1 == runner.max_iters

    @staticmethod
    def is_last_epoch(runner) -> bool:
        """MMCV 1.x's name for :meth:`is_last_train_epoch`."""
        return Hook.is_last_train_epoch(runner)

    @staticmethod
    def is_last_iter(runner) -> bool:
        """MMCV 1.x's name for :meth:`is_last_train_iter`."""
        return Hook.is_last_train_iter(runner)


_SIGNATURES = {
    **{f"before_{m}_iter": f"def before_{m}_iter(self, runner, batch_idx, data_batch=None)"
       for m in ("train", "val", "test")},
    **{f"after_{m}_iter": f"def after_{m}_iter(self, runner, batch_idx, data_batch=None, outputs=None)"
       for m in ("train", "val", "test")},
    "after_val_epoch": "def after_val_epoch(self, runner, metrics=None)",
    "after_test_epoch": "def after_test_epoch(self, runner, metrics=None)",
    "before_save_checkpoint": "def before_save_checkpoint(self, runner, checkpoint)",
    "after_load_checkpoint": "def after_load_checkpoint(self, runner, checkpoint)",
}
