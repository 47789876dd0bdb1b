"""PackInputs: the last step of a classification pipeline (MMPretrain 1.x)."""

from typing import Any, Dict, Sequence

from loomcls.registry import TRANSFORMS
from loomcls.structures import DataSample
from loomcv.transforms import BaseTransform
from loomcv.validation import check
from loomcv.transforms.formatting import image_to_chw, key_tuple


@TRANSFORMS.register_module()
class PackInputs(BaseTransform):
    """Pack a results dict into ``{'inputs': CHW tensor, 'data_samples': DataSample}``.

    ``gt_label``/``gt_score`` become the sample's labels, ``algorithm_keys`` its
    data fields and the present ``meta_keys`` its metainfo.

    Required Keys: the ``input_key`` (img); optional gt_label, gt_score, the algorithm and meta keys
    Modified Keys: none (a new dict is returned)
    Added Keys: inputs, data_samples (the only keys of the result)
    """

    DEFAULT_META_KEYS = ("sample_idx", "img_path", "ori_shape", "img_shape", "scale_factor", "flip",
                         "flip_direction")

    def __init__(self, input_key: str = "img", algorithm_keys: Sequence[str] = (),
                 meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        check(isinstance(input_key, str), self, f"input_key must be a str, got {input_key!r}")
        self.input_key = input_key
        self.algorithm_keys = key_tuple(self, algorithm_keys)
        self.meta_keys = key_tuple(self, meta_keys)

    @staticmethod
    def format_input(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [PackInputs.format_input(v) for v in value]
        return image_to_chw(value)

    def transform(self, results: Dict) -> Dict:
        packed = {}
        if self.input_key in results:
            packed["inputs"] = self.format_input(results[self.input_key])
        sample = DataSample()
        if "gt_label" in results:
            sample.set_gt_label(results["gt_label"])
        if "gt_score" in results:
            sample.set_gt_score(results["gt_score"])
        for key in self.algorithm_keys:
            if key in results:
                sample.set_field(results[key], key)
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if meta:
            sample.set_metainfo(meta)
        packed["data_samples"] = sample
        return packed
