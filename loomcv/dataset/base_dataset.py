"""BaseDataset: an annotation list + a pipeline, with the list packed into one numpy buffer.

Subclasses override :meth:`BaseDataset.load_data_list` (or use the OpenMMLab
2.0 annotation file: ``{"metainfo": {...}, "data_list": [{...}, ...]}``).
With ``serialize_data`` every entry is pickled into a single uint8 array plus
an offset array. DataLoader workers fork the process and read entries from
that shared buffer, which no Python refcount touches, so their memory does not
grow copy-on-write page by page as they read (the classic leak of a list of dicts).
"""

import copy
import functools
import os.path as osp
import pickle
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

import numpy as np

from loomcv import fileio
from loomcv.errors import ConfigError
from loomcv.registry import DATASETS
from loomcv.transforms import Compose

from .broken import BrokenSamples, explain, sample_source


def _join(root: str, path: str) -> str:
    """``root/path`` unless path is absolute, a URL, or root is empty."""
    if not root or not path or osp.isabs(path) or "://" in path:
        return path
    return fileio.join_path(root, path)


def force_full_init(method: Callable) -> Callable:
    """Decorator for a dataset method: run ``full_init()`` first if it has not run yet (MMEngine's
    helper for datasets built with ``lazy_init=True``)."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        if not hasattr(self, "full_init"):
            raise AttributeError(f"{type(self).__name__} has no full_init(), which @force_full_init needs")
        if not getattr(self, "_fully_initialized", False):
            self.full_init()
            self._fully_initialized = True
        return method(self, *args, **kwargs)
    return wrapper


@DATASETS.register_module()
class BaseDataset:
    """Annotations + pipeline.

    Args:
        ann_file: annotation file (json/yaml/pickle in the OpenMMLab 2.0 layout), joined to data_root.
        metainfo: extra meta information (e.g. ``classes``) that overrides ``METAINFO`` and the file's.
        data_root: prefix of ``ann_file`` and of ``data_prefix`` values.
        data_prefix: ``{field: prefix}`` joined to data_root, e.g. ``dict(img_path='train')``.
        filter_cfg: passed to :meth:`filter_data` (subclasses define its meaning).
        indices: keep only the first N entries (int) or these entries (sequence).
        serialize_data: pack the data list into one shared numpy buffer.
        pipeline: transforms (dicts or callables) applied in ``__getitem__``.
        test_mode: a pipeline that returns None raises instead of re-sampling.
        lazy_init: defer :meth:`full_init` (loading annotations) to first use.
        max_refetch: how many other random samples to try when the pipeline drops one.
        skip_broken: when the pipeline raises on a training sample (a corrupt or missing file),
            log the file and the reason once and fetch another sample instead of stopping
            (see :mod:`loomcv.dataset.broken`); off by default. Test-mode datasets still raise.
        max_broken_ratio: with ``skip_broken``, stop once more than this fraction of the
            samples is broken.
    """

    METAINFO: dict = dict()

    def __init__(self, ann_file: str = "", metainfo: Optional[Mapping] = None, data_root: str = "",
                 data_prefix: Mapping = dict(img_path=""), filter_cfg: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None, serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (), test_mode: bool = False,
                 lazy_init: bool = False, max_refetch: int = 1000, skip_broken: bool = False,
                 max_broken_ratio: float = 0.01):
        if metainfo is not None and not isinstance(metainfo, Mapping):
            raise ConfigError(f"{type(self).__name__}: metainfo must be a dict, got {type(metainfo).__name__}")
        if not isinstance(data_prefix, Mapping):
            raise ConfigError(f"{type(self).__name__}: data_prefix must be a dict such as "
                              f"dict(img_path='train'), got {data_prefix!r}")
        if not isinstance(max_refetch, int) or max_refetch < 0:
            raise ConfigError(f"{type(self).__name__}: max_refetch must be an int >= 0, got {max_refetch!r}")
        if not isinstance(skip_broken, bool):
            raise ConfigError(f"{type(self).__name__}: skip_broken must be True or False, got {skip_broken!r}")
        if isinstance(max_broken_ratio, bool) or not isinstance(max_broken_ratio, (int, float)) \
                or not 0 <= max_broken_ratio < 1:
            raise ConfigError(f"{type(self).__name__}: max_broken_ratio must be a fraction in [0, 1), "
                              f"got {max_broken_ratio!r}")
        self.ann_file = ann_file
        self.data_root = data_root
        self.data_prefix = dict(data_prefix)
        self.filter_cfg = copy.deepcopy(filter_cfg)
        self._indices = indices
        self.serialize_data = serialize_data
        self.test_mode = test_mode
        self.max_refetch = max_refetch
        self.skip_broken, self.max_broken_ratio = skip_broken, float(max_broken_ratio)
        self.broken_samples: Optional[BrokenSamples] = None  # made by full_init when skip_broken
        self.data_list: List[dict] = []
        self.data_bytes: Optional[np.ndarray] = None
        self.data_address: Optional[np.ndarray] = None
        self._fully_initialized = False
        self._metainfo = self._load_metainfo(copy.deepcopy(dict(metainfo)) if metainfo is not None else None)
        self._join_prefix()
        self.pipeline = Compose(list(pipeline))
        if not lazy_init:
            self.full_init()

    # ---------------------------------------------------------------- metainfo
    @classmethod
    def _load_metainfo(cls, metainfo: Optional[dict] = None) -> dict:
        """``METAINFO`` updated by ``metainfo``; a str value ending in .txt etc. is read as a list."""
        merged = copy.deepcopy(cls.METAINFO)
        for key, value in (metainfo or {}).items():
            if isinstance(value, str) and osp.isfile(value):
                value = fileio.list_from_file(value)
            merged[key] = value
        return merged

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self._metainfo)

    def _join_prefix(self) -> None:
        self.ann_file = _join(self.data_root, self.ann_file)
        for key, prefix in self.data_prefix.items():
            if not isinstance(prefix, str):
                raise ConfigError(f"{type(self).__name__}: data_prefix[{key!r}] must be a str, got {prefix!r}")
            self.data_prefix[key] = _join(self.data_root, prefix) if prefix else self.data_root

    # ---------------------------------------------------------------- loading
    def full_init(self) -> None:
        """Load, filter, subset and (optionally) serialize the annotations, once."""
        if self._fully_initialized:
            return
        self.data_list = self.load_data_list()
        if not isinstance(self.data_list, list):
            raise TypeError(f"{type(self).__name__}.load_data_list() must return a list of dicts, "
                            f"got {type(self.data_list).__name__}")
        self.data_list = self.filter_data()
        if self._indices is not None:
            self.data_list = self._subset(self.data_list, self._indices)
        if self.serialize_data:
            self.data_bytes, self.data_address = self._serialize(self.data_list)
            self.data_list = []
        self._fully_initialized = True
        if self.skip_broken and not self.test_mode:
            self.broken_samples = BrokenSamples(type(self).__name__, len(self), self.max_broken_ratio)

    def load_data_list(self) -> List[dict]:
        """Read ``ann_file`` in the OpenMMLab 2.0 layout; subclasses override for other formats."""
        if not self.ann_file:
            raise ConfigError(f"{type(self).__name__} needs an ann_file (or override load_data_list)")
        annotations = fileio.load(self.ann_file)
        if not isinstance(annotations, dict) or "data_list" not in annotations:
            raise ConfigError(f"{self.ann_file}: the annotation file must be a dict with 'data_list' "
                              f"(and optionally 'metainfo'), got {type(annotations).__name__}")
        for key, value in annotations.get("metainfo", {}).items():
            self._metainfo.setdefault(key, value)
        data_list = []
        for raw in annotations["data_list"]:
            info = self.parse_data_info(raw)
            if isinstance(info, dict):
                data_list.append(info)
            elif isinstance(info, list):
                data_list.extend(info)
            else:
                raise TypeError(f"parse_data_info must return a dict or a list of dicts, got {type(info).__name__}")
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Join ``data_prefix`` onto the matching path fields of one raw entry."""
        info = dict(raw_data_info)
        for key, prefix in self.data_prefix.items():
            if key in info and prefix:
                info[key] = _join(prefix, info[key])
        return info

    def filter_data(self) -> List[dict]:
        """Subclasses drop entries according to ``filter_cfg``; the base keeps all."""
        return self.data_list

    @staticmethod
    def _subset(data_list: List[dict], indices: Union[int, Sequence[int]]) -> List[dict]:
        if isinstance(indices, int):
            return data_list[:indices] if indices >= 0 else data_list[indices:]
        return [data_list[i] for i in indices]

    @staticmethod
    def _serialize(data_list: List[dict]):
        """One uint8 buffer of all pickled entries, and their end offsets."""
        chunks = [np.frombuffer(pickle.dumps(d, protocol=4), dtype=np.uint8) for d in data_list]
        address = np.cumsum(np.array([len(c) for c in chunks], dtype=np.int64))
        data_bytes = np.concatenate(chunks) if chunks else np.zeros(0, np.uint8)
        return data_bytes, address

    # ---------------------------------------------------------------- access
    def _check_init(self) -> None:
        if not self._fully_initialized:
            self.full_init()

    def __len__(self) -> int:
        self._check_init()
        return len(self.data_address) if self.serialize_data else len(self.data_list)

    def get_data_info(self, idx: int) -> dict:
        """A fresh copy of entry ``idx`` with ``sample_idx`` set."""
        self._check_init()
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} out of range for {n} samples")
        idx = idx % n
        if self.serialize_data:
            start = 0 if idx == 0 else int(self.data_address[idx - 1])
            info = pickle.loads(memoryview(self.data_bytes)[start:int(self.data_address[idx])])
        else:
            info = copy.deepcopy(self.data_list[idx])
        info["sample_idx"] = idx
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """Category ids of entry ``idx`` (from ``gt_label``), used by ClassBalancedDataset."""
        info = self.get_data_info(idx)
        if "gt_label" not in info:
            raise NotImplementedError(f"{type(self).__name__}: entries have no 'gt_label'; "
                                      f"override get_cat_ids(idx)")
        label = info["gt_label"]
        return [int(v) for v in np.atleast_1d(np.asarray(label))]

    def prepare_data(self, idx: int) -> Any:
        return self.pipeline(self.get_data_info(idx))

    def _prepare_or_record(self, idx: int) -> Any:
        """``prepare_data(idx)``; a raised error names the sample, or with skip_broken is
        recorded and the sample dropped (None)."""
        try:
            return self.prepare_data(idx)
        except Exception as err:
            source = sample_source(self.get_data_info(idx), idx)
            if self.broken_samples is None:
                raise explain(err, type(self).__name__, idx, source)  # noqa: B904  (the same error, annotated)
            self.broken_samples.record(idx, source, err)
            return None

    def __getitem__(self, idx: int) -> Any:
        self._check_init()
        if self.test_mode:
            data = self._prepare_or_record(idx)
            if data is None:
                raise RuntimeError(f"{type(self).__name__}: the test pipeline dropped sample {idx} "
                                   f"(a transform returned None)")
            return data
        for _ in range(self.max_refetch + 1):
            data = self._prepare_or_record(idx)
            if data is not None:
                return data
            idx = int(np.random.randint(0, len(self)))
        raise RuntimeError(f"{type(self).__name__}: the pipeline dropped {self.max_refetch + 1} samples in a row; "
                           f"check the data or the pipeline (e.g. LoadImageFromFile(ignore_empty=True))")

    def get_subset_(self, indices: Union[int, Sequence[int]]) -> None:
        """Keep only ``indices`` in this dataset (in place; MMEngine's ``get_subset_``)."""
        sub = self.get_subset(indices)
        self.data_list, self.data_bytes, self.data_address = sub.data_list, sub.data_bytes, sub.data_address

    def get_subset(self, indices: Union[int, Sequence[int]]) -> "BaseDataset":
        """A copy holding only ``indices`` (an int N keeps the first N)."""
        self._check_init()
        sub = copy.copy(self)
        infos = [self.get_data_info(i) for i in range(len(self))]
        for info in infos:
            info.pop("sample_idx", None)
        kept = self._subset(infos, indices)
        if self.serialize_data:
            sub.data_bytes, sub.data_address = self._serialize(kept)
        else:
            sub.data_list = kept
        return sub

    def __repr__(self) -> str:
        if not hasattr(self, "pipeline"):  # an error inside __init__, before the base class ran
            return f"{type(self).__name__}(not initialized)"
        size = len(self) if self._fully_initialized else "not loaded yet"
        lines = [f"{type(self).__name__}(", f"    number of samples: {size}",
                 f"    ann_file: {self.ann_file!r}", f"    data_root: {self.data_root!r}"]
        if self._metainfo.get("classes") is not None:
            lines.append(f"    classes: {list(self._metainfo['classes'])}")
        lines.append("    pipeline: " + repr(self.pipeline).replace("\n", "\n    "))
        return "\n".join(lines) + "\n)"
