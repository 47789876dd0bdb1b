"""The UCI handwritten digits shipped inside loomcls (no download)."""

from pathlib import Path

import numpy as np

from loomcls.registry import DATASETS
from loomcv.validation import check_choice
from .base_dataset import BaseDataset

DIGITS_FILE = Path(__file__).parent / "data" / "digits.npz"
SPLITS = ("train", "test", "all")


def load_digits(split: str = "train"):
    """(images uint8 (N, 8, 8) in 0..255, labels int64 (N,)) of a split.

    The stored values are 0..16; they become ``round(v * 255 / 16)``.
    See loomcls/datasets/data/README.md for the source, license and split.
    """
    check_choice("Digits", "split", split, SPLITS)
    with np.load(DIGITS_FILE) as data:
        images, labels = data["images"], data["labels"]
        if split != "all":
            index = data[f"{split}_indices"]
            images, labels = images[index], labels[index]
    images = np.rint(images.astype(np.float32) * (255 / 16)).astype(np.uint8)
    return images, labels.astype(np.int64)


@DATASETS.register_module()
class Digits(BaseDataset):
    """1,797 8x8 grey images of handwritten digits (UCI, CC BY 4.0), split
    1,437 train / 360 test (fixed, stratified). Images come out as 8x8
    uint8 arrays; the default config resizes them to 32x32 for LeNet5."""

    METAINFO = {"classes": tuple(str(i) for i in range(10))}

    def __init__(self, split: str = "train", data_root: str = "", **kwargs):
        check_choice(self, "split", split, SPLITS)
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self):
        images, labels = load_digits(self.split)
        return [dict(img=img, gt_label=int(label), img_path=f"digits/{self.split}/{i}")
                for i, (img, label) in enumerate(zip(images, labels))]
