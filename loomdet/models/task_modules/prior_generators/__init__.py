"""Prior generators: the anchors (or points) a dense head predicts relative to."""

from .anchor_generator import AnchorGenerator

__all__ = ["AnchorGenerator"]
