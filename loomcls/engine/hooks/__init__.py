"""MMPretrain's hooks: VisualizationHook (draw val/test predictions), PreciseBNHook (exact BN
statistics), EMAHook (loomcv's, with evaluate_on_ema/evaluate_on_origin),
SwitchRecipeHook (change pipeline, batch augments or loss at given epochs)."""

from .ema_hook import EMAHook
from .precise_bn_hook import PreciseBNHook, update_bn_stats
from .switch_recipe_hook import SwitchRecipeHook
from .visualization_hook import VisualizationHook

__all__ = ["EMAHook", "PreciseBNHook", "SwitchRecipeHook", "VisualizationHook", "update_bn_stats"]
