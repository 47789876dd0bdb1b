"""What loomcls' datasets add to loomcv's BaseDataset: ``classes`` (a list or
a file of names), label helpers for samplers/wrappers, a clear error when the
data is not where the config says, and MMClassification 0.x datasets (which
override ``load_annotations``) running unchanged."""

import os
import os.path as osp
import warnings
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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "evaluate" in cls.__dict__:
            warnings.warn(f"{cls.__name__}.evaluate is MMClassification 0.x's evaluation and is not called "
                          "here: compute the score in a metric (a loomcv.evaluator.BaseMetric subclass, "
                          "registered in METRICS) and name it in val_evaluator/test_evaluator", FutureWarning,
                          stacklevel=2)

    def __init__(self, ann_file: str = "", metainfo: Optional[Mapping] = None, data_root: str = "",
                 data_prefix: Union[str, Mapping] = "", classes: Union[None, str, Sequence[str]] = None,
                 file_client_args: Optional[Mapping] = None, **kwargs):
        metainfo = dict(metainfo or {})
        names = read_classes(classes)
        if names is not None:
            metainfo["classes"] = tuple(names)
        legacy_classes = getattr(type(self), "CLASSES", None)  # a 0.x class attribute shadows the property
        if isinstance(legacy_classes, (list, tuple)) and "classes" not in metainfo:
            metainfo["classes"] = tuple(legacy_classes)
        if file_client_args is not None and dict(file_client_args).get("backend", "disk") != "disk":
            warnings.warn(f"{type(self).__name__}: file_client_args (MMClassification 0.x) is ignored and files "
                          "are read from the local disk; for other storage set backend_args on "
                          "LoadImageFromFile", FutureWarning, stacklevel=2)
        self.file_client_args = file_client_args
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

    def check_model(self, model) -> None:
        """Every label must index the model's classes: called once by the Runner when a loop is
        built (as MMPretrain's class-number check), so a label out of ``[0, num_classes)`` stops
        the run with its place in the data instead of an IndexError mid-epoch."""
        num_classes = model_num_classes(model)
        if num_classes is None:
            return
        self._check_init()
        packed = getattr(self, "_label_array", None)
        if packed is not None and len(packed) == len(self):  # the common case, without unpacking entries
            if not len(packed) or (packed.min() >= 0 and packed.max() < num_classes):
                return
        labels = [self.get_data_info(i).get("gt_label") for i in range(len(self))]
        for idx, label in enumerate(labels):
            if label is None:
                continue
            values = np.atleast_1d(np.asarray(label)).astype(np.int64)
            bad = values[(values < 0) | (values >= num_classes)]
            if bad.size:
                info = self.get_data_info(idx)
                sample = f" ({info['img_path']})" if "img_path" in info else ""
                raise ValueError(
                    f"{type(self).__name__}{self._source_text()}: sample {idx}{sample} has label {int(bad[0])}, "
                    f"outside [0, {num_classes}): the model's head has num_classes={num_classes}. Fix the "
                    f"annotation, or set model.head.num_classes (and data_preprocessor.num_classes) to the "
                    f"number of classes of the data.")

    def _serialize(self, data_list: List[dict]):
        """Before the entries are packed, keep single labels as one int array (no per-object refcounts
        for forked workers to copy) so :meth:`check_model` need not unpack every entry."""
        labels = [d.get("gt_label") for d in data_list]
        if labels and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels):
            self._label_array = np.asarray(labels, dtype=np.int64)
        return super()._serialize(data_list)

    def _source_text(self) -> str:
        source = self.ann_file or self.data_prefix.get("img_path") or self.data_root
        return f" ({source})" if source else ""

    # ------------------------------------------------------ MMClassification 0.x
    def load_annotations(self) -> List[dict]:
        """MMClassification 0.x: a subclass returned its ``data_infos`` here (each with
        ``img_prefix``, ``img_info={'filename': ...}`` and ``gt_label``); native datasets
        override :meth:`load_data_list` instead."""
        raise NotImplementedError(f"{type(self).__name__} overrides neither load_data_list (native) nor "
                                  "load_annotations (MMClassification 0.x)")

    def load_data_list(self) -> List[dict]:
        if type(self).load_annotations is BaseDataset.load_annotations:
            return super().load_data_list()
        return self._load_0x_annotations()

    def _load_0x_annotations(self) -> List[dict]:
        """Run a 0.x ``load_annotations`` (it sees ``data_prefix`` as the string it was given) and turn
        its infos into native entries: ``img_path`` from ``img_prefix`` + ``img_info['filename']``,
        ``gt_label`` as an int (an array of several stays a multi-label list)."""
        prefix_dict = self.data_prefix
        self.data_prefix = prefix_dict.get("img_path", "")
        try:
            infos = self.load_annotations()
        finally:
            self.data_prefix = prefix_dict
        if not isinstance(infos, list):
            raise TypeError(f"{type(self).__name__}.load_annotations() must return a list of dicts, "
                            f"got {type(infos).__name__}")
        self.data_infos = infos
        return [_native_info(type(self).__name__, i, info) for i, info in enumerate(infos)]



def model_num_classes(model) -> Optional[int]:
    """The classifier's ``num_classes``: its head's, else the first module that has one (None if none)."""
    head = getattr(model, "head", None)
    found = getattr(head, "num_classes", None)
    if isinstance(found, int):
        return found
    for module in getattr(model, "modules", lambda: [])():
        found = getattr(module, "num_classes", None)
        if isinstance(found, int) and not isinstance(found, bool):
            return found
    return None


def _native_info(owner: str, index: int, info: Mapping) -> dict:
    if not isinstance(info, Mapping):
        raise TypeError(f"{owner}.load_annotations()[{index}] must be a dict, got {type(info).__name__}")
    entry = {k: v for k, v in info.items() if k not in ("img_prefix", "img_info")}
    filename = (info.get("img_info") or {}).get("filename")
    if filename is not None:
        prefix = info.get("img_prefix") or ""
        entry["img_path"] = osp.join(prefix, filename) if prefix else filename
    if "gt_label" in entry:
        label = np.asarray(entry["gt_label"])
        entry["gt_label"] = int(label) if label.ndim == 0 else label.astype(np.int64).tolist()
    return entry


def list_files(root: str, extensions: Sequence[str]) -> List[str]:
    """Files under ``root`` (recursive, sorted) whose name ends with one of ``extensions``."""
    extensions = tuple(e.lower() for e in extensions)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs.sort()
        found += [osp.relpath(osp.join(folder, f), root) for f in sorted(files) if f.lower().endswith(extensions)]
    return found
