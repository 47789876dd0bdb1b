"""The Hook base class: every point where the Runner lets user code in.

A subclass overrides only the stages it cares about. The Runner asks
:meth:`Hook.stages` which ones those are and calls a hook only at those, so an
unused stage costs nothing.
"""

from typing import Any, Optional, Sequence, Tuple

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

    def before_train_epoch(self, runner) -> None: ...
    def before_val_epoch(self, runner) -> None: ...
    def before_test_epoch(self, runner) -> None: ...
    def after_train_epoch(self, runner) -> None: ...
    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None: ...
    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None: ...

    def before_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None: ...
    def before_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None: ...
    def before_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None) -> None: ...
    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs: Optional[dict] = None) -> None: ...
    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs: Optional[Sequence] = None) -> None: ...
    def after_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs: Optional[Sequence] = None) -> None: ...

    # ----------------------------------------------------------- helpers
    def stages(self) -> Tuple[str, ...]:
        """The stages this hook's class overrides (the ones worth calling)."""
        cls = type(self)
        return tuple(s for s in STAGES if getattr(cls, s) is not getattr(Hook, s))

    @staticmethod
    def every_n_epochs(runner, n: int, start: int = 0) -> bool:
        done = runner.epoch + 1 - start
        return n > 0 and done > 0 and done % n == 0

    @staticmethod
    def every_n_train_iters(runner, n: int, start: int = 0) -> bool:
        done = runner.iter + 1 - start
        return n > 0 and done > 0 and done % n == 0

    @staticmethod
    def every_n_inner_iters(batch_idx: int, n: int) -> bool:
        return n > 0 and (batch_idx + 1) % n == 0

    @staticmethod
    def end_of_epoch(dataloader, batch_idx: int) -> bool:
        return batch_idx + 1 == len(dataloader)

    @staticmethod
    def is_last_train_epoch(runner) -> bool:
        return runner.epoch + 1 == runner.max_epochs

    @staticmethod
    def is_last_train_iter(runner) -> bool:
        return runner.iter + 1 == runner.max_iters
