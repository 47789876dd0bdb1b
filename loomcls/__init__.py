"""loomcls: image classification on loomcv."""

__version__ = "0.1.0"
