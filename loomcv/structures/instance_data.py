"""InstanceData: per-instance annotations or predictions (boxes, labels, scores, masks...).

Every data field holds one entry per instance, so all of them have the same
length, and indexing the element indexes every field at once:
``results[results.scores > 0.3]`` keeps the confident instances of every field.
"""

import itertools
import numbers
from typing import Any, List, Sequence, Union

import numpy as np
import torch

from .base_data_element import BaseDataElement

IndexType = Union[str, int, slice, list, torch.Tensor, np.ndarray]

_INDEX_KINDS = "an int, a slice, a list of ints or bools, or a 1-D integer/bool tensor or ndarray"


def _length(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return -1


class InstanceData(BaseDataElement):
    """Data fields of equal length N (the number of instances); indexing selects instances.

    A field may be a tensor, an ndarray, a list/tuple/str, or any object with
    ``__len__`` and ``__getitem__`` (taking a slice); to be indexed by a tensor,
    array or list, or concatenated by :meth:`cat`, such an object also needs a
    ``cat(list_of_objects)`` method (as MMDetection's masks and boxes have).
    """

    def _check_value(self, name: str, value: Any) -> Any:
        length = _length(value)
        if length < 0:
            raise TypeError(f"InstanceData field {name!r} must have a length (a tensor, an array, a list or "
                            f"an object with __len__), got {type(value).__name__}")
        # a property's public name holds no value itself: its backing '_name' field does
        others = [k for k in self._data_fields if k != name and k in self.__dict__]
        if others:
            expected = len(self.__dict__[others[0]])
            if length != expected:
                raise ValueError(f"InstanceData field {name!r} has length {length}, but the other fields "
                                 f"({', '.join(map(repr, others))}) have length {expected}")
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self, name, value)

    def __len__(self) -> int:
        """The number of instances (0 when there is no data field)."""
        for name in self._data_fields:
            if name in self.__dict__:
                return len(self.__dict__[name])
        return 0

    # ------------------------------------------------------------- indexing
    def _index_tensor(self, item: Any) -> Union[slice, torch.Tensor]:
        """Turn any accepted index into a slice or a 1-D bool/long tensor; check its range."""
        n = len(self)
        if isinstance(item, torch.Tensor) and item.ndim == 0 and not item.dtype.is_floating_point \
                and item.dtype != torch.bool:
            item = int(item)
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if not -n <= item < n:
                raise IndexError(f"InstanceData index {item} is out of range for {n} instances")
            item = int(item) % n
            return slice(item, item + 1)
        if isinstance(item, list):
            if not item:
                item = np.zeros(0, dtype=np.int64)
            elif all(isinstance(i, (bool, np.bool_)) for i in item):
                item = np.array(item, dtype=bool)
            elif all(isinstance(i, numbers.Integral) and not isinstance(i, (bool, np.bool_)) for i in item):
                item = np.array(item, dtype=np.int64)
            else:
                raise TypeError(f"InstanceData: a list index must hold only ints or only bools, got {item!r}")
        if isinstance(item, np.ndarray):
            if item.dtype != bool and not np.issubdtype(item.dtype, np.integer):
                raise TypeError(f"InstanceData: an ndarray index must be bool or integer, got {item.dtype}")
            item = torch.from_numpy(item.astype(np.int64) if item.dtype != bool else item)
        if not isinstance(item, torch.Tensor):
            raise TypeError(f"InstanceData index must be {_INDEX_KINDS}, got {type(item).__name__}")
        if item.ndim != 1:
            raise IndexError(f"InstanceData index must be 1-D (it selects instances), got shape "
                             f"{tuple(item.shape)}")
        if item.dtype == torch.bool:
            if len(item) != n:
                raise IndexError(f"InstanceData boolean index has length {len(item)}, but there are "
                                 f"{n} instances")
            return item
        if item.dtype.is_floating_point or item.is_complex():
            raise TypeError(f"InstanceData index must be {_INDEX_KINDS}, got a {item.dtype} tensor")
        item = item.long()
        bad = item[(item >= n) | (item < -n)]
        if bad.numel():
            raise IndexError(f"InstanceData index {int(bad[0])} is out of range for {n} instances")
        return item

    @staticmethod
    def _take(name: str, value: Any, index: torch.Tensor) -> Any:
        """Select entries of one field by a 1-D bool or long tensor."""
        if isinstance(value, torch.Tensor):
            return value[index.to(value.device)]
        if isinstance(value, np.ndarray):
            return value[index.cpu().numpy()]
        positions = (index.nonzero().view(-1) if index.dtype == torch.bool else index).tolist()
        if isinstance(value, (list, tuple, str)):
            picked = [value[i] for i in positions]
            return "".join(picked) if isinstance(value, str) else tuple(picked) if isinstance(value, tuple) else picked
        cat = getattr(value, "cat", None)
        if not callable(cat):
            raise TypeError(f"InstanceData field {name!r} is a {type(value).__name__}, which has no `cat` method, "
                            f"so it can be indexed by int or slice only, not by a tensor, array or list")
        n = len(value)
        pieces = [value[slice(i % n, i % n + 1)] for i in positions] or [value[0:0]]
        return cat(pieces)

    def __getitem__(self, item: IndexType) -> Any:
        """A field's value for a str; otherwise a new InstanceData holding the selected instances."""
        if isinstance(item, str):
            return getattr(self, item)
        if isinstance(item, slice) and item.step is not None and item.step < 0:
            # tensors cannot take a negative step: select the same positions by index
            item = torch.tensor(range(len(self))[item], dtype=torch.long)
        index = item if isinstance(item, slice) else self._index_tensor(item)
        out = type(self)(metainfo=self.metainfo)
        for name, value in self.items():
            if isinstance(index, slice):
                setattr(out, name, value[index])
            else:
                setattr(out, name, self._take(name, value, index))
        return out

    # ------------------------------------------------------------- concatenation
    @classmethod
    def cat(cls, instances_list: Sequence["InstanceData"]) -> "InstanceData":
        """Concatenate the instances of several elements that have the same fields.

        The result has the type and metainfo of the first element.
        """
        if not isinstance(instances_list, (list, tuple)) or not instances_list:
            raise ValueError(f"{cls.__name__}.cat needs a non-empty list of InstanceData, got {instances_list!r}")
        for i, element in enumerate(instances_list):
            if not isinstance(element, InstanceData):
                raise TypeError(f"{cls.__name__}.cat: element {i} is a {type(element).__name__}, "
                                f"not an InstanceData")
        first = instances_list[0]
        keys = set(first.all_keys())
        for i, element in enumerate(instances_list[1:], start=1):
            other = set(element.all_keys())
            if other != keys:
                raise ValueError(f"{cls.__name__}.cat: element {i} has different keys from element 0 "
                                 f"(missing: {sorted(keys - other)}, extra: {sorted(other - keys)}); "
                                 f"all elements must have the same metainfo and data keys")
        out = type(first)(metainfo=first.metainfo)
        for name in first.keys():
            values = [getattr(element, name) for element in instances_list]
            setattr(out, name, _concat(name, values))
        return out


def _concat(name: str, values: List[Any]) -> Any:
    v0 = values[0]
    kinds = {type(v) for v in values}
    if isinstance(v0, torch.Tensor):
        if not all(isinstance(v, torch.Tensor) for v in values):
            raise TypeError(f"InstanceData.cat: field {name!r} mixes types {sorted(k.__name__ for k in kinds)}")
        return torch.cat(values, dim=0)
    if isinstance(v0, np.ndarray):
        if not all(isinstance(v, np.ndarray) for v in values):
            raise TypeError(f"InstanceData.cat: field {name!r} mixes types {sorted(k.__name__ for k in kinds)}")
        return np.concatenate(values, axis=0)
    if isinstance(v0, (list, tuple, str)):
        if len(kinds) != 1:
            raise TypeError(f"InstanceData.cat: field {name!r} mixes types {sorted(k.__name__ for k in kinds)}")
        joined = list(itertools.chain.from_iterable(values))
        return "".join(joined) if isinstance(v0, str) else tuple(joined) if isinstance(v0, tuple) else joined
    cat = getattr(v0, "cat", None)
    if not callable(cat):
        raise TypeError(f"InstanceData.cat: field {name!r} is a {type(v0).__name__}, which has no `cat` method")
    return cat(values)
