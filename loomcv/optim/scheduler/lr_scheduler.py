"""Learning-rate schedulers: the generic schedulers with ``param_name='lr'``.

Each is the generic ``*ParamScheduler`` of the same family; see that class for
the arguments.
"""

from loomcv.registry import PARAM_SCHEDULERS

from .param_scheduler import (ConstantParamScheduler, CosineAnnealingParamScheduler, CosineRestartParamScheduler,
                              ExponentialParamScheduler, FixedParamMixin, LinearParamScheduler,
                              MultiStepParamScheduler, OneCycleParamScheduler, PolyParamScheduler,
                              ReduceOnPlateauParamScheduler, StepParamScheduler)


class LRSchedulerMixin(FixedParamMixin):
    """Schedule the param groups' ``lr``."""

    scheduled_param = "lr"


@PARAM_SCHEDULERS.register_module()
class ConstantLR(LRSchedulerMixin, ConstantParamScheduler):
    """Scale the lr by ``factor`` over [begin, end), then give back the original lr."""


@PARAM_SCHEDULERS.register_module()
class LinearLR(LRSchedulerMixin, LinearParamScheduler):
    """Scale the lr by a factor moving linearly from ``start_factor`` to ``end_factor`` (the usual warmup)."""


@PARAM_SCHEDULERS.register_module()
class StepLR(LRSchedulerMixin, StepParamScheduler):
    """Multiply the lr by ``gamma`` once every ``step_size`` epochs or iterations."""


@PARAM_SCHEDULERS.register_module()
class MultiStepLR(LRSchedulerMixin, MultiStepParamScheduler):
    """Multiply the lr by ``gamma`` at each of the ``milestones``."""


@PARAM_SCHEDULERS.register_module()
class ExponentialLR(LRSchedulerMixin, ExponentialParamScheduler):
    """Multiply the lr by ``gamma`` at every step."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingLR(LRSchedulerMixin, CosineAnnealingParamScheduler):
    """Lower the lr along half a cosine to ``eta_min`` (or ``eta_min_ratio`` times it) over ``T_max`` steps."""


@PARAM_SCHEDULERS.register_module()
class PolyLR(LRSchedulerMixin, PolyParamScheduler):
    """Lower the lr polynomially (``power``) to ``eta_min`` by the end of the range."""


@PARAM_SCHEDULERS.register_module()
class OneCycleLR(LRSchedulerMixin, OneCycleParamScheduler):
    """The 1cycle policy for the lr: warm up to ``eta_max``, then anneal far below the start."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartLR(LRSchedulerMixin, CosineRestartParamScheduler):
    """Cosine annealing of the lr, restarted after each of ``periods`` with peaks scaled by ``restart_weights``."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauLR(LRSchedulerMixin, ReduceOnPlateauParamScheduler):
    """Multiply the lr by ``factor`` when the ``monitor`` metric stops improving for ``patience`` checks."""


#: name -> class of every lr scheduler above
LR_SCHEDULERS = {cls.__name__: cls for cls in (
    ConstantLR, LinearLR, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, PolyLR, OneCycleLR,
    CosineRestartLR, ReduceOnPlateauLR)}

__all__ = ["LRSchedulerMixin", "ConstantLR", "LinearLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "PolyLR", "OneCycleLR", "CosineRestartLR", "ReduceOnPlateauLR"]
