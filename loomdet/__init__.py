"""loomdet: object detection on loomcv."""

__version__ = "0.1.0"
