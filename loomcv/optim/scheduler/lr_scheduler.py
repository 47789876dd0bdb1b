"""Learning-rate schedulers: the generic ones with ``param_name='lr'`` (ConstantLR, CosineAnnealingLR, ...)."""

from loomcv.registry import PARAM_SCHEDULERS

from .param_scheduler import GENERIC, specialize

LR_SCHEDULERS = {}
for _generic in GENERIC:
    _name = _generic.__name__.replace("ParamScheduler", "LR")
    LR_SCHEDULERS[_name] = PARAM_SCHEDULERS.register_module(
        module=specialize(_generic, "lr", _name), name=_name)

globals().update(LR_SCHEDULERS)
__all__ = list(LR_SCHEDULERS)
