"""Parameter schedulers (lr, momentum, any optimizer field) and their builder."""

from loomcv.legacy.moved import moved_names

from .builder import build_param_scheduler, build_param_schedulers, iter_param_schedulers, step_param_schedulers
from .lr_scheduler import *  # noqa: F401,F403  (ConstantLR, CosineAnnealingLR, ...)
from .lr_scheduler import LR_SCHEDULERS, LRSchedulerMixin
from .momentum_scheduler import *  # noqa: F401,F403
from .momentum_scheduler import MOMENTUM_SCHEDULERS, FixedMomentumMixin, MomentumSchedulerMixin
from .param_scheduler import *  # noqa: F401,F403
from .param_scheduler import GENERIC, INF, FixedParamMixin, _ParamScheduler

__all__ = ["build_param_scheduler", "build_param_schedulers", "iter_param_schedulers", "step_param_schedulers",
           "_ParamScheduler", "INF", "FixedParamMixin", "LRSchedulerMixin", "MomentumSchedulerMixin",
           "FixedMomentumMixin", *LR_SCHEDULERS, *MOMENTUM_SCHEDULERS, *(c.__name__ for c in GENERIC)]

# the MMCV 1.x closed-form schedulers moved to loomcv.legacy.schedulers
__getattr__ = moved_names(__name__, dict.fromkeys(("LegacyLR", "LegacyMomentum"), "loomcv.legacy.schedulers"))
