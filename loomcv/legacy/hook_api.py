"""How a hook written for MMCV 1.x runs on the native Runner.

MMCV 1.x hooks override ``before_epoch``/``after_epoch``/``before_iter``/
``after_iter`` (called for training and for the ``val`` workflow phase) and
write stage methods as ``after_train_iter(self, runner)``, reading the batch
from ``runner.outputs`` and friends. :class:`loomcv.hooks.Hook` uses this
module to call the generic methods at their stages, to call runner-only stage
methods without the batch arguments, and to say what to write instead where
a 1.x runner attribute does not exist. No torch here.
"""

import functools
import inspect
import warnings
from typing import Callable, Dict, Tuple

#: MMCV 1.x generic methods and the stages they stand for (its "val" is the validation pass)
GENERIC_STAGES: Dict[str, Tuple[str, ...]] = {
    "before_epoch": ("before_train_epoch", "before_val_epoch"),
    "after_epoch": ("after_train_epoch", "after_val_epoch"),
    "before_iter": ("before_train_iter", "before_val_iter"),
    "after_iter": ("after_train_iter", "after_val_iter"),
}
STAGE_TO_GENERIC = {stage: generic for generic, stages in GENERIC_STAGES.items() for stage in stages}

#: the arguments the Runner passes after ``runner`` at each stage that has any
STAGE_ARGUMENTS: Dict[str, Tuple[str, ...]] = {
    **{f"before_{m}_iter": ("batch_idx", "data_batch") for m in ("train", "val", "test")},
    **{f"after_{m}_iter": ("batch_idx", "data_batch", "outputs") for m in ("train", "val", "test")},
    "after_val_epoch": ("metrics",), "after_test_epoch": ("metrics",),
    "before_save_checkpoint": ("checkpoint",), "after_load_checkpoint": ("checkpoint",),
}

#: MMCV 1.x runner attributes the native Runner does not have, and what to use instead
RUNNER_ATTRIBUTES: Dict[str, str] = {
    "outputs": "the `outputs` argument: def after_train_iter(self, runner, batch_idx, data_batch=None, "
               "outputs=None) (outputs is the dict of log variables, outputs['loss'] the loss)",
    "data_batch": "the `data_batch` argument: def before_train_iter(self, runner, batch_idx, data_batch=None)",
    "inner_iter": "the `batch_idx` argument of the *_iter stages (def after_train_iter(self, runner, "
                  "batch_idx, data_batch=None, outputs=None))",
    "data_loader": "runner.train_dataloader (or runner.val_dataloader in the val stages)",
    "mode": "separate methods per stage (after_train_iter / after_val_iter)",
    "log_buffer": "runner.message_hub (update_scalar(key, value) / get_scalar(key).current())",
    "optimizer": "runner.optim_wrapper (runner.optim_wrapper.optimizer is the torch optimizer)",
    "_max_epochs": "runner.max_epochs", "_max_iters": "runner.max_iters",
    "_epoch": "runner.epoch", "_iter": "runner.iter", "_hooks": "runner.hooks",
}


def takes_stage_arguments(fn: Callable, stage: str) -> bool:
    """Whether ``fn(self, runner, **arguments)`` matches what the Runner passes at ``stage``."""
    names = STAGE_ARGUMENTS.get(stage, ())
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return True
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return True
    return all(n in params for n in names)


def runner_only(fn: Callable, owner: str, stage: str) -> Callable:
    """Wrap a 1.x-style ``stage(self, runner)`` so the Runner's extra arguments are dropped."""

    @functools.wraps(fn)
    def call(self, runner, **_):
        return explain_missing(fn, self, runner, owner, stage)

    return call


def explain_missing(fn: Callable, hook, runner, owner: str, stage: str):
    """Run ``fn(hook, runner)``; an AttributeError for a 1.x runner attribute says what to use."""
    try:
        return fn(hook, runner)
    except AttributeError as err:
        name = getattr(err, "name", None)
        if name in RUNNER_ATTRIBUTES and getattr(err, "obj", runner) is runner:
            raise AttributeError(f"{owner}.{stage}: runner.{name} is MMCV 1.x's Runner API and does not exist "
                                 f"here; use {RUNNER_ATTRIBUTES[name]}") from err
        raise


def warn_helper(owner: str, old: str, new: str) -> None:
    warnings.warn(f"{owner}: Hook.{old} is MMCV 1.x's; write {new}", FutureWarning, stacklevel=3)


__all__ = ["GENERIC_STAGES", "STAGE_TO_GENERIC", "STAGE_ARGUMENTS", "RUNNER_ATTRIBUTES", "takes_stage_arguments",
           "runner_only", "explain_missing", "warn_helper"]
