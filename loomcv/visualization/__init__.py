"""Visualization: the Visualizer (drawing on images, matplotlib/OpenCV) and its
backends (local files, TensorBoard, MLflow, and the trackers W&B and DVCLive)."""

from .backends import BaseVisBackend, LocalVisBackend, MLflowVisBackend, TensorboardVisBackend
from .colors import color_str2rgb, color_val_matplotlib
from .featmap import convert_overlay_heatmap
from .trackers import DVCLiveVisBackend, WandbVisBackend
from .visualizer import Visualizer

__all__ = ["BaseVisBackend", "LocalVisBackend", "MLflowVisBackend", "TensorboardVisBackend", "Visualizer",
           "WandbVisBackend", "DVCLiveVisBackend",
           "color_str2rgb", "color_val_matplotlib", "convert_overlay_heatmap"]
