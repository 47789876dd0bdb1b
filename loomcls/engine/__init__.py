"""Classification training-loop extensions (hooks) registered in loomcls' HOOKS."""

from .hooks import EMAHook, PreciseBNHook, VisualizationHook, update_bn_stats

__all__ = ["EMAHook", "PreciseBNHook", "VisualizationHook", "update_bn_stats"]
