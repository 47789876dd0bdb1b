"""Momentum schedulers (ConstantMomentum, CosineAnnealingMomentum, ...).

For Adam-style optimizers, which have ``betas`` instead of ``momentum``, the
scheduled momentum is ``betas[0]``: it is mirrored into a ``momentum`` field
and written back into ``betas`` after every step.
"""

from loomcv.registry import PARAM_SCHEDULERS

from .param_scheduler import (ConstantParamScheduler, CosineAnnealingParamScheduler, CosineRestartParamScheduler,
                              ExponentialParamScheduler, FixedParamMixin, LinearParamScheduler,
                              MultiStepParamScheduler, PolyParamScheduler, ReduceOnPlateauParamScheduler,
                              StepParamScheduler, _param_groups)


class MomentumSchedulerMixin:
    """Map ``momentum`` to ``betas[0]`` for optimizers that use betas."""

    def __init__(self, optimizer, param_name, *args, **kwargs):
        groups = _param_groups(optimizer)
        self.use_betas = "momentum" not in groups[0] and "betas" in groups[0]
        if self.use_betas:
            for group in groups:
                group.setdefault("momentum", group["betas"][0])
        super().__init__(optimizer, param_name, *args, **kwargs)

    def step(self, *args, **kwargs) -> None:
        super().step(*args, **kwargs)
        if self.use_betas:
            for group in self.param_groups:
                group["betas"] = (group["momentum"], *group["betas"][1:])


class FixedMomentumMixin(FixedParamMixin, MomentumSchedulerMixin):
    """Schedule the param groups' ``momentum`` (``betas[0]`` for Adam-like optimizers)."""

    scheduled_param = "momentum"


@PARAM_SCHEDULERS.register_module()
class ConstantMomentum(FixedMomentumMixin, ConstantParamScheduler):
    """Scale the momentum by ``factor`` over [begin, end), then give back the original momentum."""


@PARAM_SCHEDULERS.register_module()
class LinearMomentum(FixedMomentumMixin, LinearParamScheduler):
    """Scale the momentum by a factor moving linearly from ``start_factor`` to ``end_factor``."""


@PARAM_SCHEDULERS.register_module()
class StepMomentum(FixedMomentumMixin, StepParamScheduler):
    """Multiply the momentum by ``gamma`` once every ``step_size`` epochs or iterations."""


@PARAM_SCHEDULERS.register_module()
class MultiStepMomentum(FixedMomentumMixin, MultiStepParamScheduler):
    """Multiply the momentum by ``gamma`` at each of the ``milestones``."""


@PARAM_SCHEDULERS.register_module()
class ExponentialMomentum(FixedMomentumMixin, ExponentialParamScheduler):
    """Multiply the momentum by ``gamma`` at every step."""


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingMomentum(FixedMomentumMixin, CosineAnnealingParamScheduler):
    """Move the momentum along half a cosine to ``eta_min`` (or ``eta_min_ratio`` times it) over ``T_max`` steps."""


@PARAM_SCHEDULERS.register_module()
class PolyMomentum(FixedMomentumMixin, PolyParamScheduler):
    """Move the momentum polynomially (``power``) to ``eta_min`` by the end of the range."""


@PARAM_SCHEDULERS.register_module()
class CosineRestartMomentum(FixedMomentumMixin, CosineRestartParamScheduler):
    """Cosine annealing of the momentum, restarted after each of ``periods``."""


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauMomentum(FixedMomentumMixin, ReduceOnPlateauParamScheduler):
    """Multiply the momentum by ``factor`` when the ``monitor`` metric stops improving for ``patience`` checks."""


#: name -> class of every momentum scheduler above (1cycle drives the lr; it has no momentum twin here)
MOMENTUM_SCHEDULERS = {cls.__name__: cls for cls in (
    ConstantMomentum, LinearMomentum, StepMomentum, MultiStepMomentum, ExponentialMomentum,
    CosineAnnealingMomentum, PolyMomentum, CosineRestartMomentum, ReduceOnPlateauMomentum)}

__all__ = ["MomentumSchedulerMixin", "FixedMomentumMixin", "ConstantMomentum", "LinearMomentum", "StepMomentum",
           "MultiStepMomentum", "ExponentialMomentum", "CosineAnnealingMomentum", "PolyMomentum",
           "CosineRestartMomentum", "ReduceOnPlateauMomentum"]
