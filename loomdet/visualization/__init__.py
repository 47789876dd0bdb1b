"""Detection visualization: DetLocalVisualizer and the class palette helpers."""

from .local_visualizer import DetLocalVisualizer
from .palette import get_palette

__all__ = ["DetLocalVisualizer", "get_palette"]
