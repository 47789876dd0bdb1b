"""ImageNet-1k in the folder layout that torchvision and MMPretrain use."""

import os
import os.path as osp

from loomcls.registry import DATASETS
from loomcv.validation import check_choice
from .base_dataset import missing_data
from .custom import CustomDataset

SPLITS = ("train", "val", "test")


@DATASETS.register_module()
class ImageNet(CustomDataset):
    """``split='train'`` scans class folders (or reads ``meta/train.txt``);
    'val'/'test' read ``meta/val.txt``/``meta/test.txt`` ("path label" lines).
    Class names are the train folder names (WordNet ids) unless ``classes``
    or ``metainfo`` give them."""

    SOURCE = "https://image-net.org (ILSVRC 2012), after agreeing to its terms; extract train and val"
    LAYOUT = """data_root/
  train/n01440764/n01440764_10026.JPEG ...
  val/ILSVRC2012_val_00000001.JPEG ...
  meta/val.txt    # 'ILSVRC2012_val_00000001.JPEG 65' per line (optional meta/train.txt)"""

    def __init__(self, data_root: str = "", split: str = "train", data_prefix="", ann_file: str = "",
                 metainfo=None, **kwargs):
        check_choice(self, "split", split, SPLITS)
        self.split = split
        if data_root and not osp.isdir(data_root):
            raise missing_data("ImageNet", data_root, self.SOURCE, self.LAYOUT)
        data_prefix = data_prefix or split
        if not ann_file and data_root:
            default = osp.join(data_root, "meta", f"{split}.txt")
            if split != "train" or osp.isfile(default):
                ann_file = osp.join("meta", f"{split}.txt")
        if (metainfo is None or "classes" not in metainfo) and "classes" not in kwargs and data_root:
            train = osp.join(data_root, "train")
            if split != "train" and osp.isdir(train):
                kwargs["classes"] = sorted(d for d in os.listdir(train) if osp.isdir(osp.join(train, d)))
        super().__init__(data_root=data_root, data_prefix=data_prefix, ann_file=ann_file, metainfo=metainfo,
                         **kwargs)
