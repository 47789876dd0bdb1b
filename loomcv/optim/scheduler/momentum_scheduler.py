"""Momentum schedulers (ConstantMomentum, CosineAnnealingMomentum, ...).

For Adam-style optimizers, which have ``betas`` instead of ``momentum``, the
scheduled momentum is ``betas[0]``: it is mirrored into a ``momentum`` field
and written back into ``betas`` after every step.
"""

from loomcv.registry import PARAM_SCHEDULERS

from .param_scheduler import GENERIC, _param_groups, specialize


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


MOMENTUM_SCHEDULERS = {}
for _generic in GENERIC:
    if _generic.__name__.startswith("OneCycle"):
        continue  # 1cycle drives lr; its momentum counterpart is a cyclic schedule of its own
    _name = _generic.__name__.replace("ParamScheduler", "Momentum")
    MOMENTUM_SCHEDULERS[_name] = PARAM_SCHEDULERS.register_module(
        module=specialize(_generic, "momentum", _name, MomentumSchedulerMixin), name=_name)

globals().update(MOMENTUM_SCHEDULERS)
__all__ = ["MomentumSchedulerMixin", *MOMENTUM_SCHEDULERS]
