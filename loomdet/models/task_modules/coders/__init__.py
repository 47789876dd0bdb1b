"""Box coders: turn boxes into regression targets relative to priors, and back."""

from .base_bbox_coder import BaseBBoxCoder
from .delta_xywh_bbox_coder import DeltaXYWHBBoxCoder, bbox2delta, delta2bbox
from .distance_point_bbox_coder import DistancePointBBoxCoder
from .yolo_bbox_coder import YOLOBBoxCoder

__all__ = ["BaseBBoxCoder", "DeltaXYWHBBoxCoder", "bbox2delta", "delta2bbox", "DistancePointBBoxCoder",
           "YOLOBBoxCoder"]
