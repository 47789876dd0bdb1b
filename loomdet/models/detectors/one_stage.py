"""The one-stage detectors of MMDetection's configs: same machinery, their own names."""

from loomdet.registry import MODELS
from .single_stage import SingleStageDetector


@MODELS.register_module()
class YOLOV3(SingleStageDetector):
    """YOLOv3 (Redmon and Farhadi, 2018): Darknet or MobileNetV2, YOLOV3Neck, YOLOV3Head."""


@MODELS.register_module()
class RetinaNet(SingleStageDetector):
    """RetinaNet (Lin et al., 2017): ResNet, FPN, RetinaHead with focal loss."""


@MODELS.register_module()
class FCOS(SingleStageDetector):
    """FCOS (Tian et al., 2019): ResNet, FPN, anchor-free FCOSHead."""
