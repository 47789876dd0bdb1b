"""SingleStageDetector: backbone, optional neck, one dense head (YOLO, RetinaNet, FCOS...)."""

from typing import Optional, Tuple

from torch import Tensor

from loomdet.registry import MODELS
from .base import BaseDetector


def _check_samples(owner: str, inputs: Tensor, data_samples: Optional[list], mode: str) -> list:
    if data_samples is None:
        raise ValueError(f"{owner}.{mode}: data_samples are needed (DetDataSample per image with img_shape"
                         f"{' and gt_instances' if mode == 'loss' else ''})")
    if len(data_samples) != inputs.size(0):
        raise ValueError(f"{owner}.{mode}: {len(data_samples)} data samples for a batch of {inputs.size(0)} images")
    return data_samples


@MODELS.register_module()
class SingleStageDetector(BaseDetector):
    """Args:
        backbone / neck / bbox_head: configs; ``train_cfg`` and ``test_cfg`` are handed to the head.
        train_cfg / test_cfg: training (assigner...) and testing (nms...) settings.
        data_preprocessor / init_cfg: see :class:`BaseDetector`.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None, bbox_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None, data_preprocessor=None,
                 init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if bbox_head is None:
            raise ValueError(f"{type(self).__name__}: bbox_head is required")
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        bbox_head = dict(bbox_head)
        bbox_head.update(train_cfg=train_cfg)
        bbox_head.update(test_cfg=test_cfg)
        self.bbox_head = MODELS.build(bbox_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Multi-level features: the backbone's, through the neck if there is one."""
        x = self.backbone(batch_inputs)
        if self.with_neck:
            x = self.neck(x)
        return x

    def loss(self, batch_inputs: Tensor, batch_data_samples: list) -> dict:
        """Losses of the head for the annotated batch."""
        _check_samples(type(self).__name__, batch_inputs, batch_data_samples, "loss")
        return self.bbox_head.loss(self.extract_feat(batch_inputs), batch_data_samples)

    def predict(self, batch_inputs: Tensor, batch_data_samples: list, rescale: bool = True) -> list:
        """The data samples with ``pred_instances`` (``bboxes``, ``scores``, ``labels``); with
        ``rescale`` the boxes are in the original image's pixels (divided by ``scale_factor``)."""
        _check_samples(type(self).__name__, batch_inputs, batch_data_samples, "predict")
        results_list = self.bbox_head.predict(self.extract_feat(batch_inputs), batch_data_samples, rescale=rescale)
        return self.add_pred_to_datasample(batch_data_samples, results_list)

    def _forward(self, batch_inputs: Tensor, batch_data_samples: Optional[list] = None):
        """The head's raw outputs (per-level maps), no post-processing."""
        return self.bbox_head.forward(self.extract_feat(batch_inputs))

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        # An RPN checkpoint names its head rpn_head; a single-stage detector calls it bbox_head.
        bbox_keys = [k for k in state_dict if k.startswith(prefix + "bbox_head")]
        rpn_keys = [k for k in state_dict if k.startswith(prefix + "rpn_head")]
        if not bbox_keys and rpn_keys:
            for key in rpn_keys:
                state_dict[prefix + "bbox_head" + key[len(prefix + "rpn_head"):]] = state_dict.pop(key)
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)


__all__ = ["SingleStageDetector"]
