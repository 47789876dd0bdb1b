"""CIFAR-10 and CIFAR-100 from the "python version" pickle batches."""

import os.path as osp
import pickle

import numpy as np

from loomcls.registry import DATASETS
from loomcv.validation import check_choice
from .base_dataset import BaseDataset

SPLITS = ("train", "test")


@DATASETS.register_module()
class CIFAR10(BaseDataset):
    """CIFAR-10: 50,000 train / 10,000 test 32x32 RGB images, 10 classes.

    ``data_root`` may be the folder holding ``cifar-10-batches-py`` or that
    folder itself. Images come out HWC in RGB order (use ``to_rgb=False``).
    """

    base_folder = "cifar-10-batches-py"
    train_files = [f"data_batch_{i}" for i in range(1, 6)]
    test_files = ["test_batch"]
    meta_file, meta_key, label_key = "batches.meta", "label_names", "labels"
    METAINFO = {"classes": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                            "truck")}
    SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html ('CIFAR-10 python version'); extract the archive"
    LAYOUT = """data_root/cifar-10-batches-py/
  data_batch_1 ... data_batch_5, test_batch, batches.meta   (python pickles)"""

    def __init__(self, data_root: str = "", split: str = "train", metainfo=None, **kwargs):
        check_choice(self, "split", split, SPLITS)
        self.split = split
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def _folder(self):
        root = self.require(self.data_root)
        nested = osp.join(root, self.base_folder)
        return nested if osp.isdir(nested) else root

    @staticmethod
    def _unpickle(path):
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")

    def load_data_list(self):
        folder = self._folder()
        images, labels = [], []
        for name in self.train_files if self.split == "train" else self.test_files:
            batch = self._unpickle(self.require(osp.join(folder, name)))
            images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels += list(batch[self.label_key])
        meta_path = osp.join(folder, self.meta_file)
        if osp.isfile(meta_path) and not self.classes_given:
            self._metainfo["classes"] = tuple(self._unpickle(meta_path)[self.meta_key])
        images = np.concatenate(images).transpose(0, 2, 3, 1)
        return [dict(img=np.ascontiguousarray(img), gt_label=int(label)) for img, label in zip(images, labels)]


@DATASETS.register_module()
class CIFAR100(CIFAR10):
    """CIFAR-100: 100 fine classes; names come from the ``meta`` pickle."""

    base_folder = "cifar-100-python"
    train_files, test_files = ["train"], ["test"]
    meta_file, meta_key, label_key = "meta", "fine_label_names", "fine_labels"
    METAINFO = {}
    SOURCE = "https://www.cs.toronto.edu/~kriz/cifar.html ('CIFAR-100 python version'); extract the archive"
    LAYOUT = """data_root/cifar-100-python/
  train, test, meta   (python pickles)"""
