"""Visualization: the Visualizer and its backends (local files, TensorBoard, MLflow)."""

from .backends import BaseVisBackend, LocalVisBackend, MLflowVisBackend, TensorboardVisBackend
from .visualizer import Visualizer

__all__ = ["BaseVisBackend", "LocalVisBackend", "MLflowVisBackend", "TensorboardVisBackend", "Visualizer"]
