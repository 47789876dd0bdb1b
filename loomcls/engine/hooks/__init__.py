"""MMPretrain's hooks: VisualizationHook (draw val/test predictions), PreciseBNHook (exact BN statistics)."""

from .precise_bn_hook import PreciseBNHook, update_bn_stats
from .visualization_hook import VisualizationHook

__all__ = ["PreciseBNHook", "VisualizationHook", "update_bn_stats"]
