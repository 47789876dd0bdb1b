"""Prior generators: the anchors (or points) a dense head predicts relative to."""

from .anchor_generator import AnchorGenerator, YOLOAnchorGenerator, anchor_inside_flags
from .point_generator import MlvlPointGenerator

__all__ = ["AnchorGenerator", "YOLOAnchorGenerator", "anchor_inside_flags", "MlvlPointGenerator"]
