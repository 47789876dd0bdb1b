"""MNIST and Fashion-MNIST from the IDX files (gzipped or not)."""

import gzip
import os.path as osp

import numpy as np

from loomcls.registry import DATASETS
from loomcv.validation import check_choice
from .base_dataset import BaseDataset

SPLITS = ("train", "test")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """An IDX file (LeCun's format): magic 0 0 type ndim, big-endian sizes, data."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as err:  # a truncated or non-gzip .gz
        raise ValueError(f"{path!r} cannot be read as a gzipped IDX file: {err}") from err
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path!r} is not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=_IDX_TYPES[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path!r}: header says shape {shape} but holds {array.size} values")
    return array.reshape(shape)


@DATASETS.register_module()
class MNIST(BaseDataset):
    """MNIST: 60,000 train / 10,000 test 28x28 grey digits. Images come out
    as HxW uint8 arrays."""

    files = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
             "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
    METAINFO = {"classes": ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
                            "7 - seven", "8 - eight", "9 - nine")}
    SOURCE = "http://yann.lecun.com/exdb/mnist/ (or a mirror): the four IDX files"
    LAYOUT = """data_root/
  train-images-idx3-ubyte[.gz]  train-labels-idx1-ubyte[.gz]
  t10k-images-idx3-ubyte[.gz]   t10k-labels-idx1-ubyte[.gz]"""

    def __init__(self, data_root: str = "", split: str = "train", metainfo=None, **kwargs):
        check_choice(self, "split", split, SPLITS)
        self.split = split
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def _find(self, name):
        for candidate in (name, name + ".gz"):
            path = osp.join(self.data_root, candidate)
            if osp.isfile(path):
                return path
        return self.require(osp.join(self.data_root, name + "[.gz]"))

    def load_data_list(self):
        self.require(self.data_root)
        images_file, labels_file = self.files[self.split]
        images, labels = read_idx(self._find(images_file)), read_idx(self._find(labels_file))
        if len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: {len(images)} images but {len(labels)} labels in "
                             f"{self.data_root!r}")
        return [dict(img=np.ascontiguousarray(img), gt_label=int(label)) for img, label in zip(images, labels)]


@DATASETS.register_module()
class FashionMNIST(MNIST):
    """Fashion-MNIST: same format and sizes as MNIST, 10 clothing classes."""

    METAINFO = {"classes": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                            "Sneaker", "Bag", "Ankle boot")}
    SOURCE = "https://github.com/zalandoresearch/fashion-mnist: the four IDX files"
