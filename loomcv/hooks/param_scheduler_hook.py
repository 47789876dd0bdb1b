"""ParamSchedulerHook: steps the runner's parameter schedulers at the right granularity."""

from typing import Optional

from loomcv.registry import HOOKS

from .hook import Hook


def _schedulers(runner):
    schedulers = runner.param_schedulers
    if not schedulers:
        return []
    if isinstance(schedulers, dict):  # one list per optimizer of an OptimWrapperDict
        return [s for group in schedulers.values() for s in group]
    return list(schedulers)


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Iteration-based schedulers step after each iteration, epoch-based ones after each epoch.

    Schedulers that need a metric (``need_val_args``, e.g. ReduceOnPlateau) step after validation.
    """

    priority = "LOW"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        for scheduler in _schedulers(runner):
            if not scheduler.by_epoch and not getattr(scheduler, "need_val_args", False):
                scheduler.step()

    def after_train_epoch(self, runner) -> None:
        for scheduler in _schedulers(runner):
            if scheduler.by_epoch and not getattr(scheduler, "need_val_args", False):
                scheduler.step()

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not runner.train_loop_built:
            return
        for scheduler in _schedulers(runner):
            if getattr(scheduler, "need_val_args", False):
                scheduler.step(metrics)
