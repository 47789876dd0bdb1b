"""Box geometry on plain ``(..., 4)`` tensors in ``(x1, y1, x2, y2)`` order.

The helpers also accept box-list objects that carry their data in a
``.tensor`` attribute, so code written for MMDetection's ``BaseBoxes`` ports
unchanged.
"""

from .bbox_overlaps import bbox_overlaps
from .transforms import (bbox2distance, bbox2roi, bbox_cxcywh_to_xyxy, bbox_flip, bbox_mapping,
                         bbox_mapping_back, bbox_rescale, bbox_xyxy_to_cxcywh, cat_boxes, distance2bbox,
                         empty_box_as, find_inside_bboxes, get_box_tensor, get_box_wh, roi2bbox, scale_boxes,
                         stack_boxes)

__all__ = [
    "bbox_overlaps", "bbox2distance", "bbox2roi", "bbox_cxcywh_to_xyxy", "bbox_flip", "bbox_mapping",
    "bbox_mapping_back", "bbox_rescale", "bbox_xyxy_to_cxcywh", "cat_boxes", "distance2bbox", "empty_box_as",
    "find_inside_bboxes", "get_box_tensor", "get_box_wh", "roi2bbox", "scale_boxes", "stack_boxes",
]
