"""The one way to build a config's ``param_scheduler`` and the one rule for when each steps.

The Runner, :class:`~loomcv.hooks.ParamSchedulerHook` and ``loomcv plot-lr``
all go through here, so the plotted curve is the one training follows.

Building: ``convert_to_iter_based=True`` on a ``by_epoch`` scheduler turns
its epoch counts into iterations (needs ``epoch_length``), so e.g. a 5-epoch
warmup changes the lr every iteration. A missing ``end`` becomes the training
length in the scheduler's unit (``max_epochs`` or ``max_iters``). For an
OptimWrapperDict every wrapper gets its own schedulers.

Stepping (:func:`step_param_schedulers`): iteration-based schedulers step
after every training iteration, epoch-based ones after every training epoch,
and those that need a metric (``need_val_args``, ReduceOnPlateau) after each
validation, with its metrics.
"""

import copy
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from loomcv.errors import ConfigError, RegistryError
from loomcv.registry import PARAM_SCHEDULERS
from loomcv.registry.build import unknown_type_message

from .param_scheduler import _ParamScheduler

STEP_EVENTS = ("iter", "epoch", "val")


def build_param_scheduler(cfg: Union[Mapping, _ParamScheduler], optimizer: Any,
                          epoch_length: Optional[int] = None, max_epochs: Optional[int] = None,
                          max_iters: Optional[int] = None) -> _ParamScheduler:
    """One scheduler from ``cfg`` (``dict(type='CosineAnnealingLR', ...)``); a built one is kept.

    Without ``max_epochs``, a by-epoch scheduler's default ``end`` is ``max_iters // epoch_length``.
    """
    if not isinstance(cfg, Mapping):
        return cfg
    args = copy.deepcopy(dict(cfg))
    type_name = args.pop("type", None)
    if type_name is None:
        raise ConfigError(f"a param_scheduler entry needs a 'type', got {dict(cfg)!r}")
    cls = PARAM_SCHEDULERS.get(type_name) if isinstance(type_name, str) else type_name
    if cls is None:
        raise RegistryError(unknown_type_message(PARAM_SCHEDULERS, type_name, cfg))
    by_epoch = args.get("by_epoch", True)
    if "end" not in args:
        length = max_epochs if by_epoch else max_iters
        if length is None and by_epoch and max_iters is not None and epoch_length:
            length = max_iters // epoch_length
        if length is not None:
            args["end"] = length
    if args.pop("convert_to_iter_based", False):
        return cls.build_iter_from_epoch(optimizer=optimizer, epoch_length=epoch_length, **args)
    return PARAM_SCHEDULERS.build(dict(type=cls, **args), default_args=dict(optimizer=optimizer))


def build_param_schedulers(cfgs: Union[None, Mapping, Sequence], optim_wrapper: Any,
                           epoch_length: Optional[int] = None, max_epochs: Optional[int] = None,
                           max_iters: Optional[int] = None
                           ) -> Union[List[_ParamScheduler], Dict[str, List[_ParamScheduler]]]:
    """All schedulers of a config (configs or built schedulers, one or a list).

    For an OptimWrapperDict the result is a dict of lists, one per wrapper; ``cfgs`` is then
    either applied to every wrapper or a dict keyed by wrapper names (a wrapper it does not
    name gets no scheduler).
    """
    from ..optim_wrapper import OptimWrapperDict

    if cfgs is None:
        return []
    kwargs = dict(epoch_length=epoch_length, max_epochs=max_epochs, max_iters=max_iters)
    if isinstance(optim_wrapper, OptimWrapperDict):
        if isinstance(cfgs, Mapping) and "type" not in cfgs:
            unknown = [name for name in cfgs if name not in optim_wrapper.keys()]
            if unknown:
                raise ConfigError(f"param_scheduler names optimizer(s) {unknown} that the OptimWrapperDict "
                                  f"does not have; its names are {list(optim_wrapper.keys())}")
            return {name: build_param_schedulers(cfgs.get(name), wrapper, **kwargs)
                    for name, wrapper in optim_wrapper.items()}
        return {name: build_param_schedulers(cfgs, wrapper, **kwargs) for name, wrapper in optim_wrapper.items()}
    items = [cfgs] if isinstance(cfgs, Mapping) or not isinstance(cfgs, Sequence) else list(cfgs)
    return [build_param_scheduler(c, optim_wrapper, **kwargs) for c in items]


def iter_param_schedulers(schedulers: Union[None, Sequence, Mapping]) -> Iterable[_ParamScheduler]:
    """Every scheduler, whether given as a list or as a dict of lists (one per optimizer)."""
    if not schedulers:
        return []
    if isinstance(schedulers, Mapping):
        return [s for group in schedulers.values() for s in group]
    return list(schedulers)


def step_param_schedulers(schedulers: Union[None, Sequence, Mapping], event: str,
                          metrics: Optional[dict] = None) -> None:
    """Step the schedulers due at ``event``: ``'iter'`` (after a training iteration), ``'epoch'``
    (after a training epoch) or ``'val'`` (after validation; ``metrics`` go to the scheduler)."""
    if event not in STEP_EVENTS:
        raise ValueError(f"step_param_schedulers: event must be one of {STEP_EVENTS}, got {event!r}")
    for scheduler in iter_param_schedulers(schedulers):
        if getattr(scheduler, "need_val_args", False):
            if event == "val":
                scheduler.step(metrics)
        elif (event == "epoch") == bool(scheduler.by_epoch) and event != "val":
            scheduler.step()
