"""MMPretrain's hooks: VisualizationHook (draw val/test predictions), PreciseBNHook (exact BN
statistics), EMAHook (loomcv's, with evaluate_on_ema/evaluate_on_origin)."""

from .ema_hook import EMAHook
from .precise_bn_hook import PreciseBNHook, update_bn_stats
from .visualization_hook import VisualizationHook

__all__ = ["EMAHook", "PreciseBNHook", "VisualizationHook", "update_bn_stats"]
