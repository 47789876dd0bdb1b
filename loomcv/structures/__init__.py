"""Data structures passed between pipeline, model and metrics."""

from .base_data_element import BaseDataElement
from .data_sample import DataSample, format_label, format_score
from .instance_data import InstanceData
from .label_data import LabelData
from .pixel_data import PixelData

__all__ = ["BaseDataElement", "DataSample", "InstanceData", "LabelData", "PixelData",
           "format_label", "format_score"]
