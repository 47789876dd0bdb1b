"""Data structures passed between pipeline, model and metrics, shared by every task.

Task-specific samples (classification's ``DataSample``, detection's
``DetDataSample``) live in their toolboxes and build on these.
"""

from .base_data_element import BaseDataElement
from .instance_data import InstanceData
from .label_data import LabelData
from .pixel_data import PixelData

__all__ = ["BaseDataElement", "InstanceData", "LabelData", "PixelData"]


def __getattr__(name: str):
    from loomcv.registry.toolbox import moved_attribute
    return moved_attribute(__name__, name)
