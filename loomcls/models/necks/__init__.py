from .gap import GlobalAveragePooling
from .gem import GeneralizedMeanPooling
from .hr_fuse import HRFuseScales
from .linear_neck import LinearNeck

__all__ = ["GlobalAveragePooling"]

__all__ += ["GeneralizedMeanPooling", "HRFuseScales", "LinearNeck"]
