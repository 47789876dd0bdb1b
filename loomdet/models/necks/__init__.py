"""Necks: turn backbone features into the multi-scale maps that heads read."""

from .fpn import FPN
from .yolo_neck import DetectionBlock, YOLOV3Neck

__all__ = ["FPN", "YOLOV3Neck", "DetectionBlock"]
