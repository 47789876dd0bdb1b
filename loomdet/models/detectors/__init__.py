"""Detectors: the models configs name at ``model.type``."""

from .base import BaseDetector
from .one_stage import FCOS, YOLOV3, RetinaNet
from .single_stage import SingleStageDetector

__all__ = ["BaseDetector", "SingleStageDetector", "YOLOV3", "RetinaNet", "FCOS"]
