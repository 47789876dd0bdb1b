"""Detection hooks, registered in loomdet's HOOKS."""

from .visualization_hook import DetVisualizationHook

__all__ = ["DetVisualizationHook"]
