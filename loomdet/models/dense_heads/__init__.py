"""Dense heads: predict classes and boxes at every prior of every pyramid level."""

from .anchor_free_head import AnchorFreeHead
from .anchor_head import AnchorHead
from .base_dense_head import BaseDenseHead
from .fcos_head import FCOSHead
from .levels import (filter_scores_and_topk, images_to_levels, multi_apply, select_single_mlvl, unmap,
                     unpack_gt_instances)
from .retina_head import RetinaHead
from .yolo_head import YOLOV3Head

__all__ = ["BaseDenseHead", "AnchorHead", "AnchorFreeHead", "RetinaHead", "YOLOV3Head", "FCOSHead", "multi_apply",
           "images_to_levels", "unmap", "select_single_mlvl", "filter_scores_and_topk", "unpack_gt_instances"]
