"""DetDataSample: one image's annotations and predictions for detection (MMDetection 3.x's fields)."""

from loomcv.structures import BaseDataElement, InstanceData, PixelData


def _typed_field(name: str, dtype: type, doc: str) -> property:
    """A data field stored as ``_name`` whose setter checks the type (MMDetection's property fields)."""
    private = f"_{name}"

    def getter(self):
        return getattr(self, private)

    def setter(self, value):
        self.set_field(value, private, dtype=dtype)

    def deleter(self):
        delattr(self, private)

    return property(getter, setter, deleter, doc)


class DetDataSample(BaseDataElement):
    """Boxes, labels (and masks) of one image; metainfo holds ``img_shape``, ``ori_shape``,
    ``pad_shape``, ``scale_factor``, ``flip``, ``batch_input_shape`` and the like.

    ``gt_instances`` are the annotations, ``ignored_instances`` the crowd/ignored
    ones, ``pred_instances`` the detections (``bboxes``, ``scores``, ``labels``)
    and ``proposals`` a two-stage detector's first-stage boxes.
    """

    proposals = _typed_field("proposals", InstanceData, "region proposals (bboxes, scores)")
    gt_instances = _typed_field("gt_instances", InstanceData, "annotated instances (bboxes, labels, masks)")
    pred_instances = _typed_field("pred_instances", InstanceData, "detections (bboxes, scores, labels)")
    ignored_instances = _typed_field("ignored_instances", InstanceData, "instances ignored in training")
    pred_track_instances = _typed_field("pred_track_instances", InstanceData, "tracked instances")
    gt_sem_seg = _typed_field("gt_sem_seg", PixelData, "semantic segmentation ground truth")
    pred_sem_seg = _typed_field("pred_sem_seg", PixelData, "semantic segmentation prediction")
    gt_panoptic_seg = _typed_field("gt_panoptic_seg", PixelData, "panoptic segmentation ground truth")
    pred_panoptic_seg = _typed_field("pred_panoptic_seg", PixelData, "panoptic segmentation prediction")


#: MMDetection's alias for a list of samples, used in type hints
SampleList = list
