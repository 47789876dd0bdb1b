"""Classification training-loop extensions (hooks) registered in loomcls' HOOKS."""

from .hooks import PreciseBNHook, VisualizationHook

__all__ = ["PreciseBNHook", "VisualizationHook"]
