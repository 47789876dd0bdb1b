"""PackDetInputs: the last pipeline step, a results dict -> ``inputs`` + ``DetDataSample``."""

from typing import Dict, Sequence

import numpy as np
import torch

from loomcv.structures import InstanceData, PixelData
from loomcv.transforms import BaseTransform, image_to_chw, to_tensor
from loomcv.validation import check

from ...registry import TRANSFORMS
from ...structures import DetDataSample
from .instances import as_box_array, check_instance_counts

DEFAULT_META_KEYS = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "flip", "flip_direction")


@TRANSFORMS.register_module()
class PackDetInputs(BaseTransform):
    """Pack the image as ``inputs`` (a C x H x W tensor of the image's dtype, uint8
    unless a float step such as PhotoMetricDistortion ran) and the annotations as
    ``data_samples``, a :class:`DetDataSample`.

    Boxes with ``gt_ignore_flags`` set go to ``ignored_instances``, the others to
    ``gt_instances`` (``bboxes`` float32 (N, 4), ``labels`` int64, ``masks`` bool
    (N, H, W)). ``proposals`` become ``data_sample.proposals`` and ``gt_seg_map``
    ``data_sample.gt_sem_seg``. Every key of ``meta_keys`` must be in the results
    and goes to the sample's metainfo (add 'instances' for CocoMetric without an
    ann_file).

    Required Keys: img, the meta_keys; gt_bboxes, gt_bboxes_labels, gt_ignore_flags, gt_masks,
        proposals, gt_seg_map (each optional)
    Modified Keys: none
    Added Keys: inputs, data_samples (the returned dict holds only these)
    """

    mapping_table = {"gt_bboxes": "bboxes", "gt_bboxes_labels": "labels", "gt_masks": "masks"}

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        check(isinstance(meta_keys, (list, tuple)) and all(isinstance(k, str) for k in meta_keys), self,
              f"meta_keys must be a sequence of key names, got {meta_keys!r}")
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _field(key: str, value, owner: str) -> torch.Tensor:
        if key == "gt_bboxes":
            return torch.from_numpy(as_box_array(value, owner).copy())
        if key == "gt_bboxes_labels":
            return to_tensor(np.asarray(value, dtype=np.int64).copy())
        return to_tensor(np.ascontiguousarray(np.asarray(value), dtype=bool))

    def transform(self, results: Dict) -> Dict:
        owner = type(self).__name__
        packed = {}
        if "img" in results:
            img = results["img"]
            if img.ndim < 3:
                img = img[..., None]
            packed["inputs"] = image_to_chw(img)
        check_instance_counts(results, owner)
        data_sample = DetDataSample()
        gt, ignored = InstanceData(), InstanceData()
        flags = results.get("gt_ignore_flags")
        if flags is not None:
            flags = np.asarray(flags).astype(bool).reshape(-1)
            valid, ignore = np.nonzero(~flags)[0], np.nonzero(flags)[0]
        for key, field in self.mapping_table.items():
            if results.get(key) is None:
                continue
            value = results[key]
            if key == "gt_masks":
                value = np.asarray(value)
            if key == "gt_bboxes":
                value = as_box_array(value, owner)
            if flags is not None:
                gt[field] = self._field(key, value[valid], owner)
                ignored[field] = self._field(key, value[ignore], owner)
            else:
                gt[field] = self._field(key, value, owner)
        data_sample.gt_instances = gt
        data_sample.ignored_instances = ignored
        if results.get("proposals") is not None:
            proposals = InstanceData(bboxes=torch.from_numpy(as_box_array(results["proposals"], owner, "proposals")))
            if results.get("proposals_scores") is not None:
                proposals.scores = to_tensor(np.asarray(results["proposals_scores"], np.float32))
            data_sample.proposals = proposals
        if results.get("gt_seg_map") is not None:
            data_sample.gt_sem_seg = PixelData(sem_seg=to_tensor(np.ascontiguousarray(results["gt_seg_map"][None])))
        missing = [key for key in self.meta_keys if key not in results]
        if missing:
            raise KeyError(f"{owner}: meta_keys {missing} are not in the results (keys: {sorted(results)}); "
                           f"add the step that sets them (e.g. RandomFlip sets 'flip' and 'flip_direction', "
                           f"Resize 'scale_factor') or drop them from meta_keys")
        data_sample.set_metainfo({key: results[key] for key in self.meta_keys})
        packed["data_samples"] = data_sample
        return packed

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"
