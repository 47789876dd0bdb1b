"""BaseDetector: the ``forward(inputs, data_samples, mode)`` dispatch every detector shares."""

from abc import ABCMeta, abstractmethod
from typing import List, Optional, Sequence, Union

import torch

from loomcv.model import BaseModel
from loomcv.structures import InstanceData


class BaseDetector(BaseModel, metaclass=ABCMeta):
    """``mode='loss'`` -> dict of losses, ``'predict'`` -> data samples with ``pred_instances``,
    ``'tensor'`` -> the head's raw outputs (no post-processing).

    Args:
        data_preprocessor: config or module (DetDataPreprocessor in configs).
        init_cfg: initialization of the whole detector.
    """

    def __init__(self, data_preprocessor=None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    @property
    def with_neck(self) -> bool:
        return getattr(self, "neck", None) is not None

    @property
    def with_shared_head(self) -> bool:
        return hasattr(self, "roi_head") and self.roi_head.with_shared_head

    @property
    def with_bbox(self) -> bool:
        return ((hasattr(self, "roi_head") and self.roi_head.with_bbox)
                or (hasattr(self, "bbox_head") and self.bbox_head is not None))

    @property
    def with_mask(self) -> bool:
        return ((hasattr(self, "roi_head") and self.roi_head.with_mask)
                or (hasattr(self, "mask_head") and self.mask_head is not None))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = "tensor"):
        """Dispatch on ``mode``: 'loss', 'predict' or 'tensor'."""
        if mode == "loss":
            return self.loss(inputs, data_samples)
        if mode == "predict":
            return self.predict(inputs, data_samples)
        if mode == "tensor":
            return self._forward(inputs, data_samples)
        raise RuntimeError(f"{type(self).__name__}: invalid mode {mode!r}; valid modes are 'loss', 'predict' "
                           "and 'tensor'")

    @abstractmethod
    def loss(self, batch_inputs: torch.Tensor, batch_data_samples: list) -> Union[dict, tuple]:
        """Losses of a batch."""

    @abstractmethod
    def predict(self, batch_inputs: torch.Tensor, batch_data_samples: list) -> list:
        """Data samples with predictions."""

    @abstractmethod
    def _forward(self, batch_inputs: torch.Tensor, data_samples: Optional[list] = None):
        """Raw network outputs."""

    @abstractmethod
    def extract_feat(self, batch_inputs: torch.Tensor):
        """Backbone (and neck) features."""

    def add_pred_to_datasample(self, data_samples: list, results_list: Sequence[InstanceData]) -> List:
        """Store each image's detections as its sample's ``pred_instances``."""
        if len(data_samples) != len(results_list):
            raise ValueError(f"{type(self).__name__}: {len(results_list)} results for {len(data_samples)} samples")
        for data_sample, pred_instances in zip(data_samples, results_list):
            data_sample.pred_instances = pred_instances
        return data_samples
