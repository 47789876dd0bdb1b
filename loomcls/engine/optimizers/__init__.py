"""Optim-wrapper constructors that need to know classification backbones."""

from .layer_decay_optim_wrapper_constructor import LearningRateDecayOptimWrapperConstructor, layer_depth_function

__all__ = ["LearningRateDecayOptimWrapperConstructor", "layer_depth_function"]
