"""Multi-label data from an annotation file in loomcv's JSON format."""

from loomcls.registry import DATASETS
from .base_dataset import BaseDataset


@DATASETS.register_module()
class MultiLabelDataset(BaseDataset):
    """``ann_file`` is JSON: ``{"metainfo": {"classes": [...]}, "data_list":
    [{"img_path": "a.jpg", "gt_label": [0, 2]}, ...]}``; image paths are
    relative to ``data_root/data_prefix``."""

    SOURCE = "your own annotation file"
    LAYOUT = """ann_file (JSON): {"metainfo": {"classes": ["cat", "dog"]},
  "data_list": [{"img_path": "1.jpg", "gt_label": [0, 1]}]}"""

    def load_data_list(self):
        self.require(self.ann_file)
        return super().load_data_list()
