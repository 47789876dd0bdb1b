"""BaseDataElement: the container that carries one sample's annotations and predictions.

Two kinds of fields: *metainfo* (image path, shapes, flip... set once, read-only
by convention) and *data* (labels, scores, tensors that move with ``.to()``).
Both read as attributes: ``sample.img_shape``, ``sample.gt_label``.
"""

import copy
from typing import Any, Iterator, List, Optional, Tuple

import numpy as np
import torch


_RESERVED: dict = {}


def _reserved(cls: type) -> frozenset:
    """Attribute names of ``cls`` (methods...) that fields may not shadow; properties excepted."""
    names = _RESERVED.get(cls)
    if names is None:
        names = frozenset(n for n in dir(cls) if not isinstance(getattr(cls, n, None), property))
        _RESERVED[cls] = names
    return names


class BaseDataElement:
    """Metainfo + data fields with attribute access, device moves and a readable repr."""

    def __init__(self, *, metainfo: Optional[dict] = None, **kwargs: Any):
        object.__setattr__(self, "_metainfo_fields", {})  # dicts as ordered sets
        object.__setattr__(self, "_data_fields", {})
        if metainfo is not None:
            self.set_metainfo(metainfo)
        if kwargs:
            self.set_data(kwargs)

    # ------------------------------------------------------------- setting
    def set_metainfo(self, metainfo: dict) -> None:
        if not isinstance(metainfo, dict):
            raise TypeError(f"metainfo must be a dict, got {type(metainfo).__name__}")
        for key, value in metainfo.items():
            self.set_field(value, key, field_type="metainfo")

    def set_data(self, data: dict) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, got {type(data).__name__}")
        for key, value in data.items():
            setattr(self, key, value)

    def update(self, instance: "BaseDataElement") -> None:
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def set_field(self, value: Any, name: str, dtype: Any = None, field_type: str = "data") -> None:
        if dtype is not None and not isinstance(value, dtype):
            raise TypeError(f"{name} must be {dtype}, got {type(value).__name__}")
        fields = self.__dict__
        if field_type == "data":
            own, other = fields["_data_fields"], fields["_metainfo_fields"]
        elif field_type == "metainfo":
            own, other = fields["_metainfo_fields"], fields["_data_fields"]
        else:
            raise ValueError(f"field_type must be 'metainfo' or 'data', got {field_type!r}")
        if name not in own:  # validate a name once, on first use
            if name in other:
                kind = "data" if field_type == "metainfo" else "metainfo"
                raise AttributeError(f"cannot set {name!r} as {field_type}: it is already a {kind} field")
            if name.startswith("_") or name in _reserved(type(self)):
                raise AttributeError(f"{name!r} is reserved by {type(self).__name__}")
            own[name] = None
        object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        prop = getattr(type(self), name, None)
        if isinstance(prop, property):
            if prop.fset is None:
                raise AttributeError(f"{type(self).__name__}.{name} is read-only")
            prop.fset(self, value)
        elif name in ("_metainfo_fields", "_data_fields"):
            raise AttributeError(f"{name} is private to {type(self).__name__}")
        else:
            self.set_field(value, name, field_type="data")

    def __delattr__(self, name: str) -> None:
        if name in ("_metainfo_fields", "_data_fields"):
            raise AttributeError(f"{name} cannot be deleted")
        object.__delattr__(self, name)
        self._metainfo_fields.pop(name, None)
        self._data_fields.pop(name, None)

    __delitem__ = __delattr__

    def pop(self, name: str, *default: Any) -> Any:
        if name in self._metainfo_fields or name in self._data_fields:
            value = getattr(self, name)
            delattr(self, name)
            return value
        if default:
            return default[0]
        raise KeyError(f"{name!r} is not a field of this {type(self).__name__}")

    # ------------------------------------------------------------- reading
    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def keys(self) -> List[str]:
        """Data field names, in the order they were set."""
        return list(self._data_fields)

    def metainfo_keys(self) -> List[str]:
        return list(self._metainfo_fields)

    def all_keys(self) -> List[str]:
        return self.metainfo_keys() + self.keys()

    def values(self) -> List[Any]:
        return [getattr(self, k) for k in self.keys()]

    def metainfo_values(self) -> List[Any]:
        return [getattr(self, k) for k in self.metainfo_keys()]

    def items(self) -> Iterator[Tuple[str, Any]]:
        for k in self.keys():
            yield k, getattr(self, k)

    def metainfo_items(self) -> Iterator[Tuple[str, Any]]:
        for k in self.metainfo_keys():
            yield k, getattr(self, k)

    def all_items(self) -> Iterator[Tuple[str, Any]]:
        yield from self.metainfo_items()
        yield from self.items()

    @property
    def metainfo(self) -> dict:
        return dict(self.metainfo_items())

    def __contains__(self, key: str) -> bool:
        return key in self._metainfo_fields or key in self._data_fields

    def to_dict(self) -> dict:
        return dict(self.all_items())

    # ------------------------------------------------------------- copies and moves
    def new(self, *, metainfo: Optional[dict] = None, **kwargs: Any) -> "BaseDataElement":
        """A shallow copy, with metainfo/data replaced where given."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()) if metainfo is None else metainfo)
        out.set_data(kwargs if kwargs else dict(self.items()))
        return out

    def clone(self) -> "BaseDataElement":
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()))
        out.set_data({k: (v.clone() if isinstance(v, torch.Tensor) else
                          v.clone() if isinstance(v, BaseDataElement) else copy.deepcopy(v))
                      for k, v in self.items()})
        return out

    def _apply(self, fn) -> "BaseDataElement":
        out = self.new()
        for k, v in self.items():
            if isinstance(v, (torch.Tensor, BaseDataElement)):
                setattr(out, k, fn(v))
        return out

    def to(self, *args: Any, **kwargs: Any) -> "BaseDataElement":
        """A copy with every tensor field moved/cast by ``Tensor.to(*args, **kwargs)``."""
        return self._apply(lambda v: v.to(*args, **kwargs))

    def cpu(self) -> "BaseDataElement":
        return self._apply(lambda v: v.cpu())

    def cuda(self) -> "BaseDataElement":
        return self._apply(lambda v: v.cuda())

    def detach(self) -> "BaseDataElement":
        return self._apply(lambda v: v.detach())

    def numpy(self) -> "BaseDataElement":
        out = self.new()
        for k, v in self.items():
            if isinstance(v, torch.Tensor):
                setattr(out, k, v.detach().cpu().numpy())
            elif isinstance(v, BaseDataElement):
                setattr(out, k, v.numpy())
        return out

    def to_tensor(self) -> "BaseDataElement":
        out = self.new()
        for k, v in self.items():
            if isinstance(v, np.ndarray):
                setattr(out, k, torch.from_numpy(v))
            elif isinstance(v, BaseDataElement):
                setattr(out, k, v.to_tensor())
        return out

    # ------------------------------------------------------------- display
    def __repr__(self) -> str:
        def block(title: str, items) -> str:
            lines = [f"    {title}:"]
            for k, v in items:
                text = repr(v).replace("\n", "\n        ")
                lines.append(f"        {k}: {text}")
            return "\n".join(lines)

        parts = [f"<{type(self).__name__}(", block("META INFORMATION", sorted(self.metainfo_items())),
                 block("DATA FIELDS", sorted(self.items())), f") at {hex(id(self))}>"]
        return "\n".join(parts)
