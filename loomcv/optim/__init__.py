"""Optimizers, optim wrappers, the optim-wrapper constructor and parameter schedulers.

Importing this package registers every torch.optim optimizer in OPTIMIZERS,
the wrappers and constructor, and all schedulers in PARAM_SCHEDULERS.
"""

from loomcv.legacy.moved import moved_names
from loomcv.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIMIZERS

from .constructor import DefaultOptimWrapperConstructor, build_optim_wrapper
from .optim_wrapper import AmpOptimWrapper, OptimWrapper, OptimWrapperDict
from .optimizers import LARS, TORCH_OPTIMIZERS, Adan, Lamb, ZeroRedundancyOptimizer
from .scheduler import *  # noqa: F401,F403
from .scheduler import __all__ as _scheduler_names

#: MMEngine's base class of optim wrappers; here OptimWrapper is the base (AmpOptimWrapper subclasses it)
BaseOptimWrapper = OptimWrapper

__all__ = ["OptimWrapper", "AmpOptimWrapper", "OptimWrapperDict", "DefaultOptimWrapperConstructor",
           "build_optim_wrapper", "TORCH_OPTIMIZERS", "BaseOptimWrapper", "OPTIMIZERS", "OPTIM_WRAPPER_CONSTRUCTORS",
           "ZeroRedundancyOptimizer", "Lamb", "LARS", "Adan", *_scheduler_names]

# the MMCV 1.x closed-form schedulers moved to loomcv.legacy.schedulers
__getattr__ = moved_names(__name__, dict.fromkeys(("LegacyLR", "LegacyMomentum"), "loomcv.legacy.schedulers"))
