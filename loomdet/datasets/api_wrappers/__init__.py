"""pycocotools behind MMDetection's names (``COCO`` with snake_case look-ups, ``COCOeval``)."""

from .coco_api import COCO, COCOeval, check_coco_dict, load_coco_json

__all__ = ["COCO", "COCOeval", "check_coco_dict", "load_coco_json"]
