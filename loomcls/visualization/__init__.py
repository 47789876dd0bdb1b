"""Classification drawing: UniversalVisualizer (also registered as ClsVisualizer)."""

from .universal_visualizer import UniversalVisualizer, adaptive_scale

ClsVisualizer = UniversalVisualizer

__all__ = ["UniversalVisualizer", "ClsVisualizer", "adaptive_scale"]
