"""Data structures passed between pipeline, model and metrics, shared by every task.

Task-specific samples (classification's ``DataSample``, detection's
``DetDataSample``) live in their toolboxes and build on these.
"""

from loomcv.legacy.moved import moved_names

from .base_data_element import BaseDataElement
from .instance_data import InstanceData
from .label_data import LabelData
from .pixel_data import PixelData

__all__ = ["BaseDataElement", "InstanceData", "LabelData", "PixelData"]

# classification's DataSample moved to its toolbox, which declares the move
__getattr__ = moved_names(__name__, {})
