"""Detection data structures; box helpers live in :mod:`loomdet.structures.bbox`."""

from .det_data_sample import DetDataSample, SampleList

__all__ = ["DetDataSample", "SampleList"]
