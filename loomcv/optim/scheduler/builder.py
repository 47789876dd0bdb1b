"""Build a config's ``param_scheduler`` list for an optim wrapper.

``convert_to_iter_based=True`` on a ``by_epoch`` scheduler turns its epoch
counts into iterations (needs ``epoch_length``), so e.g. a 5-epoch warmup
changes the lr every iteration. A missing ``end`` becomes the training
length in the scheduler's unit.
"""

import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from loomcv.errors import ConfigError, RegistryError
from loomcv.registry import PARAM_SCHEDULERS
from loomcv.registry.build import unknown_type_message

from .param_scheduler import _ParamScheduler


def build_param_scheduler(cfg: Mapping, optimizer: Any, epoch_length: Optional[int] = None,
                          max_epochs: Optional[int] = None,
                          max_iters: Optional[int] = None) -> _ParamScheduler:
    """One scheduler from ``cfg`` (``dict(type='CosineAnnealingLR', ...)``)."""
    args = copy.deepcopy(dict(cfg))
    type_name = args.pop("type", None)
    if type_name is None:
        raise ConfigError(f"a param_scheduler entry needs a 'type', got {dict(cfg)!r}")
    cls = PARAM_SCHEDULERS.get(type_name) if isinstance(type_name, str) else type_name
    if cls is None:
        raise RegistryError(unknown_type_message(PARAM_SCHEDULERS, type_name, cfg))
    by_epoch = args.get("by_epoch", True)
    convert = args.pop("convert_to_iter_based", False)
    if "end" not in args:
        length = max_epochs if by_epoch else max_iters
        if length is None and by_epoch and max_iters is not None and epoch_length:
            length = max_iters // epoch_length
        if length is not None:
            args["end"] = length
    if convert and by_epoch:
        return cls.build_iter_from_epoch(optimizer=optimizer, epoch_length=epoch_length, **args)
    return PARAM_SCHEDULERS.build(dict(type=cls, **args), default_args=dict(optimizer=optimizer))


def build_param_schedulers(cfgs: Union[Mapping, Sequence[Mapping]], optim_wrapper: Any,
                           epoch_length: Optional[int] = None, max_epochs: Optional[int] = None,
                           max_iters: Optional[int] = None
                           ) -> Union[List[_ParamScheduler], Dict[str, List[_ParamScheduler]]]:
    """All schedulers of a config; for an OptimWrapperDict, a dict of lists per wrapper.

    ``cfgs`` may also be a dict keyed by the wrapper names of an OptimWrapperDict.
    """
    from ..optim_wrapper import OptimWrapperDict

    kwargs = dict(epoch_length=epoch_length, max_epochs=max_epochs, max_iters=max_iters)
    if isinstance(optim_wrapper, OptimWrapperDict):
        if isinstance(cfgs, Mapping) and "type" not in cfgs:
            return {name: build_param_schedulers(cfgs[name], optim_wrapper[name], **kwargs)
                    for name in cfgs}
        return {name: build_param_schedulers(cfgs, wrapper, **kwargs)
                for name, wrapper in optim_wrapper.items()}
    items = [cfgs] if isinstance(cfgs, Mapping) else list(cfgs or [])
    return [build_param_scheduler(c, optim_wrapper, **kwargs) for c in items]
