"""Dataset wrappers: concatenate, repeat, and oversample rare classes."""

import bisect
import copy
import math
from collections import defaultdict
from typing import Any, List, Sequence, Union

import numpy as np

from loomcv.errors import ConfigError
from loomcv.registry import DATASETS, build_or_accept
from loomcv.validation import check_positive

from .base_dataset import BaseDataset


class _Wrapper:
    """Shared lazy-init plumbing of the wrappers."""

    _fully_initialized = False

    @property
    def metainfo(self) -> dict:
        return copy.deepcopy(self._metainfo)

    def _check_init(self) -> None:
        if not self._fully_initialized:
            self.full_init()

    def __len__(self) -> int:
        self._check_init()
        return self._length()


class _IndexMapped(_Wrapper):
    """A wrapper whose index ``i`` is index ``_inner(i)`` of one inner ``dataset``."""

    dataset: Any

    def _inner(self, idx: int) -> int:
        raise NotImplementedError

    def get_data_info(self, idx: int) -> dict:
        return self.dataset.get_data_info(self._inner(idx))

    def get_cat_ids(self, idx: int) -> List[int]:
        return self.dataset.get_cat_ids(self._inner(idx))

    def __getitem__(self, idx: int) -> Any:
        return self.dataset[self._inner(idx)]


@DATASETS.register_module()
class ConcatDataset(_Wrapper):
    """Several datasets one after another; metainfo is the first one's.

    ``ignore_keys`` names metainfo keys allowed to differ between the datasets.
    """

    def __init__(self, datasets: Sequence[Union[BaseDataset, dict]], lazy_init: bool = False,
                 ignore_keys: Union[str, List[str], None] = None):
        if not datasets:
            raise ConfigError("ConcatDataset: `datasets` is empty")
        self.datasets = [build_or_accept(d, DATASETS, name="each dataset", owner=self) for d in datasets]
        ignore = [ignore_keys] if isinstance(ignore_keys, str) else list(ignore_keys or [])
        self._metainfo = self.datasets[0].metainfo
        for i, ds in enumerate(self.datasets[1:], 1):
            for key, value in ds.metainfo.items():
                if key in ignore:
                    continue
                if key in self._metainfo and repr(self._metainfo[key]) != repr(value):
                    raise ConfigError(f"ConcatDataset: metainfo[{key!r}] of datasets[{i}] differs from "
                                      f"datasets[0]; list it in ignore_keys if that is intended")
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        for d in self.datasets:
            getattr(d, "full_init", lambda: None)()
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()
        self._fully_initialized = True

    def _length(self) -> int:
        return self.cumulative_sizes[-1]

    def _locate(self, idx: int):
        self._check_init()
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f"ConcatDataset: index {idx} out of range for {len(self)} samples")
        d = bisect.bisect_right(self.cumulative_sizes, idx)
        return d, idx - (self.cumulative_sizes[d - 1] if d else 0)

    def get_data_info(self, idx: int) -> dict:
        d, i = self._locate(idx)
        return self.datasets[d].get_data_info(i)

    def get_cat_ids(self, idx: int) -> List[int]:
        d, i = self._locate(idx)
        return self.datasets[d].get_cat_ids(i)

    def __getitem__(self, idx: int) -> Any:
        d, i = self._locate(idx)
        return self.datasets[d][i]


@DATASETS.register_module()
class RepeatDataset(_IndexMapped):
    """``dataset`` repeated ``times`` times (cheap epochs for small data sets)."""

    def __init__(self, dataset: Union[BaseDataset, dict], times: int, lazy_init: bool = False):
        check_positive(self, "times", times, integer=True)
        self.dataset = build_or_accept(dataset, DATASETS, name="dataset", owner=self)
        self.times = times
        self._metainfo = self.dataset.metainfo
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        getattr(self.dataset, "full_init", lambda: None)()
        self._ori_len = len(self.dataset)
        self._fully_initialized = True

    def _length(self) -> int:
        return self.times * self._ori_len

    def _inner(self, idx: int) -> int:
        self._check_init()
        return idx % self._ori_len


@DATASETS.register_module()
class ClassBalancedDataset(_IndexMapped):
    """Repeat images of rare categories (LVIS repeat-factor sampling).

    A category seen in a fraction ``f`` of images gets the factor
    ``max(1, sqrt(oversample_thr / f))``; an image is repeated
    ``ceil(max factor of its categories)`` times.
    """

    def __init__(self, dataset: Union[BaseDataset, dict], oversample_thr: float, lazy_init: bool = False):
        check_positive(self, "oversample_thr", oversample_thr)
        self.dataset = build_or_accept(dataset, DATASETS, name="dataset", owner=self)
        self.oversample_thr = oversample_thr
        self._metainfo = self.dataset.metainfo
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        if self._fully_initialized:
            return
        getattr(self.dataset, "full_init", lambda: None)()
        self.repeat_factors = self._get_repeat_factors(self.dataset, self.oversample_thr)
        indices: List[int] = []
        for idx, factor in enumerate(self.repeat_factors):
            indices.extend([idx] * math.ceil(factor))
        self.repeat_indices = indices
        self._fully_initialized = True

    @staticmethod
    def _get_repeat_factors(dataset: Any, thr: float) -> List[float]:
        n = len(dataset)
        cat_ids = [set(dataset.get_cat_ids(i)) for i in range(n)]
        freq = defaultdict(int)
        for ids in cat_ids:
            for c in ids:
                freq[c] += 1
        repeat = {c: max(1.0, math.sqrt(thr / (count / n))) for c, count in freq.items()}
        return [max((repeat[c] for c in ids), default=1.0) for ids in cat_ids]

    def _length(self) -> int:
        return len(self.repeat_indices)

    def _inner(self, idx: int) -> int:
        self._check_init()
        return self.repeat_indices[idx]


class SlicedDataset(_IndexMapped):
    """The first ``length`` items of ``dataset`` (``num_batch_per_epoch`` in a dataloader config
    cuts every epoch to that many batches this way, as MMEngine does; for quick checks)."""

    def __init__(self, dataset: Any, length: int):
        check_positive(self, "length", length, integer=True)
        self.dataset = dataset
        self._metainfo = getattr(dataset, "metainfo", {})
        self._slice = min(length, len(dataset))
        self._fully_initialized = True

    def full_init(self) -> None:
        getattr(self.dataset, "full_init", lambda: None)()

    def _length(self) -> int:
        return self._slice

    def _inner(self, idx: int) -> int:
        if not -self._slice <= idx < self._slice:
            raise IndexError(f"SlicedDataset: index {idx} out of range for {self._slice} items")
        return idx % self._slice

    def __getattr__(self, name: str) -> Any:  # the wrapped dataset's other attributes (classes, ...)
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)
