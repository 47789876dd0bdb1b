"""Classification training-loop extensions: hooks (loomcls' HOOKS) and the layer-decay
optim-wrapper constructor (loomcls' OPTIM_WRAPPER_CONSTRUCTORS)."""

from .hooks import EMAHook, PreciseBNHook, SwitchRecipeHook, VisualizationHook, update_bn_stats
from .optimizers import LearningRateDecayOptimWrapperConstructor

__all__ = ["EMAHook", "PreciseBNHook", "SwitchRecipeHook", "VisualizationHook", "update_bn_stats",
           "LearningRateDecayOptimWrapperConstructor"]
