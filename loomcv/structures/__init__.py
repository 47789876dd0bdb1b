"""Data structures passed between pipeline, model and metrics."""

from .base_data_element import BaseDataElement
from .data_sample import DataSample, format_label, format_score

__all__ = ["BaseDataElement", "DataSample", "format_label", "format_score"]
