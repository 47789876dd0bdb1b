"""What loomdet adds to the engine's training machinery: its hooks."""

from .hooks import DetVisualizationHook

__all__ = ["DetVisualizationHook"]
