"""ParamSchedulerHook: steps the runner's parameter schedulers at the right granularity."""

from typing import Optional

from loomcv.registry import HOOKS

from .hook import Hook


_STEP = []  # step_param_schedulers, imported on first use (loomcv.optim imports the hooks' registry)


def _step(runner, event: str, metrics: Optional[dict] = None) -> None:
    if not _STEP:
        from loomcv.optim.scheduler.builder import step_param_schedulers
        _STEP.append(step_param_schedulers)
    if runner.param_schedulers:
        _STEP[0](runner.param_schedulers, event, metrics)


@HOOKS.register_module()
class ParamSchedulerHook(Hook):
    """Iteration-based schedulers step after each iteration, epoch-based ones after each epoch.

    Schedulers that need a metric (``need_val_args``, e.g. ReduceOnPlateau) step after validation.
    Which scheduler steps when is decided by :func:`loomcv.optim.step_param_schedulers`, which
    ``loomcv plot-lr`` uses too.
    """

    priority = "LOW"

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        _step(runner, "iter")

    def after_train_epoch(self, runner) -> None:
        _step(runner, "epoch")

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if runner.train_loop_built:
            _step(runner, "val", metrics)
