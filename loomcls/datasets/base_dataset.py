"""What loomcls' datasets add to loomcv's BaseDataset: ``classes`` (a list or
a file of names), label helpers for samplers/wrappers, and a clear error
when the data is not where the config says."""

import os
import os.path as osp
from collections.abc import Mapping
from typing import List, Optional, Sequence, Union

import numpy as np

from loomcv.dataset import BaseDataset as _EngineDataset


def expand_prefix(data_prefix) -> dict:
    """``'train'`` -> ``{'img_path': 'train'}``; dicts pass through."""
    if isinstance(data_prefix, str):
        return dict(img_path=data_prefix)
    if isinstance(data_prefix, Mapping):
        return dict(data_prefix)
    raise TypeError(f"data_prefix must be a str or a dict, got {type(data_prefix).__name__}")


def read_classes(classes) -> Optional[List[str]]:
    """A list/tuple of names, or a text file with one name per line."""
    if classes is None:
        return None
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise FileNotFoundError(f"classes file {classes!r} does not exist (expected one class name per line)")
        with open(classes, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    if isinstance(classes, (list, tuple)):
        return list(classes)
    raise TypeError(f"classes must be a list of names or a file path, got {type(classes).__name__}")


def missing_data(dataset: str, path: str, source: str, layout: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{dataset}: {path!r} does not exist.\n  Where the data comes from: {source}\n"
        f"  Expected layout:\n    " + layout.strip().replace("\n", "\n    ") +
        "\n  Set data_root in the config (e.g. --cfg-options train_dataloader.dataset.data_root=PATH).")


class BaseDataset(_EngineDataset):
    """Base of the classification datasets.

    Extra args: ``classes`` (names or a file of names; overrides
    ``metainfo['classes']``). Each item of ``data_list`` has ``gt_label``.
    ``SOURCE`` and ``LAYOUT`` describe where the data comes from, for errors.
    """

    SOURCE = ""
    LAYOUT = ""

    def __init__(self, ann_file: str = "", metainfo: Optional[Mapping] = None, data_root: str = "",
                 data_prefix: Union[str, Mapping] = "", classes: Union[None, str, Sequence[str]] = None,
                 **kwargs):
        metainfo = dict(metainfo or {})
        names = read_classes(classes)
        if names is not None:
            metainfo["classes"] = tuple(names)
        #: classes given by the user win over names found in the data files
        self.classes_given = "classes" in metainfo
        super().__init__(ann_file=ann_file, metainfo=metainfo, data_root=data_root,
                         data_prefix=expand_prefix(data_prefix), **kwargs)

    def require(self, path: str) -> str:
        """``path`` if it exists, else an error saying what is missing and what is expected."""
        if not osp.exists(path):
            raise missing_data(type(self).__name__, path, self.SOURCE, self.LAYOUT)
        return path

    @property
    def CLASSES(self):
        return self.metainfo.get("classes")

    @property
    def class_to_idx(self) -> dict:
        return {name: i for i, name in enumerate(self.CLASSES or ())}

    def get_gt_labels(self) -> np.ndarray:
        """All labels, in dataset order (single-label datasets)."""
        return np.array([self.get_data_info(i)["gt_label"] for i in range(len(self))])



def list_files(root: str, extensions: Sequence[str]) -> List[str]:
    """Files under ``root`` (recursive, sorted) whose name ends with one of ``extensions``."""
    extensions = tuple(e.lower() for e in extensions)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        found += [osp.relpath(osp.join(folder, f), root) for f in sorted(files) if f.lower().endswith(extensions)]
    return found
