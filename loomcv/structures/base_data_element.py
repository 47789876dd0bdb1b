"""BaseDataElement: the container that carries one sample's annotations and predictions.

Two kinds of fields: *metainfo* (image path, shapes, flip... set once, read-only
by convention) and *data* (labels, scores, tensors that move with ``.to()``).
Both read as attributes: ``sample.img_shape``, ``sample.gt_label``.

A subclass may give a data field a property, so that it can check what is
stored (the MMDetection way)::

    class DetSample(BaseDataElement):
        @property
        def proposals(self):
            return self._proposals

        @proposals.setter
        def proposals(self, value):
            self.set_field(value, '_proposals', dtype=InstanceData)

        @proposals.deleter
        def proposals(self):
            del self._proposals

``proposals`` is then listed by ``keys()`` and its backing ``_proposals`` is not.
"""

import copy
from typing import Any, Callable, Iterator, List, Optional, Tuple, Type, Union

import numpy as np
import torch

_PRIVATE = ("_metainfo_fields", "_data_fields")
_RESERVED: dict = {}


def _reserved(cls: type) -> frozenset:
    """Attribute names of ``cls`` (methods...) that fields may not shadow; properties excepted."""
    names = _RESERVED.get(cls)
    if names is None:
        names = frozenset(n for n in dir(cls) if not isinstance(getattr(cls, n, None), property))
        _RESERVED[cls] = names
    return names


def _property(cls: type, name: str) -> Optional[property]:
    prop = getattr(cls, name, None)
    return prop if isinstance(prop, property) else None


def _type_names(dtype: Union[Type, Tuple[Type, ...]]) -> str:
    types = dtype if isinstance(dtype, tuple) else (dtype,)
    return " or ".join(getattr(t, "__name__", repr(t)) for t in types)


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
        """Add or overwrite metainfo fields (the only way to set them)."""
        if not isinstance(metainfo, dict):
            raise TypeError(f"{type(self).__name__}.set_metainfo: metainfo must be a dict, "
                            f"got {type(metainfo).__name__}")
        for key, value in metainfo.items():
            self.set_field(value, key, field_type="metainfo")

    def set_data(self, data: dict) -> None:
        """Add or overwrite data fields; goes through ``setattr`` so that properties apply."""
        if not isinstance(data, dict):
            raise TypeError(f"{type(self).__name__}.set_data: data must be a dict, got {type(data).__name__}")
        for key, value in data.items():
            setattr(self, key, value)

    def update(self, instance: "BaseDataElement") -> None:
        """Copy another element's metainfo and data fields into this one."""
        if not isinstance(instance, BaseDataElement):
            raise TypeError(f"{type(self).__name__}.update: instance must be a BaseDataElement, "
                            f"got {type(instance).__name__}")
        self.set_metainfo(dict(instance.metainfo_items()))
        self.set_data(dict(instance.items()))

    def _check_value(self, name: str, value: Any) -> Any:
        """Hook for subclasses: validate (and possibly reshape) a data value before it is stored."""
        return value

    def set_field(self, value: Any, name: str,
                  dtype: Optional[Union[Type, Tuple[Type, ...]]] = None,
                  field_type: str = "data") -> None:
        """Store ``value`` under ``name``; ``dtype`` checks its type (what property setters use)."""
        if field_type not in ("data", "metainfo"):
            raise ValueError(f"{type(self).__name__}.set_field: field_type must be 'metainfo' or 'data', "
                             f"got {field_type!r}")
        if dtype is not None and not isinstance(value, dtype):
            raise TypeError(f"{type(self).__name__}.{name} must be {_type_names(dtype)}, "
                            f"got {type(value).__name__}")
        fields = self.__dict__
        own, other = ((fields["_data_fields"], fields["_metainfo_fields"]) if field_type == "data"
                      else (fields["_metainfo_fields"], fields["_data_fields"]))
        prop = _property(type(self), name)
        if prop is not None:
            if field_type == "metainfo":
                raise AttributeError(f"{name!r} is a property of {type(self).__name__} and can only be "
                                     f"a data field, not metainfo")
            self._set_property(prop, name, value)
            return
        if name not in own:  # validate a name once, on first use
            if name in other:
                kind = "data" if field_type == "metainfo" else "metainfo"
                raise AttributeError(f"cannot set {name!r} as {field_type} of {type(self).__name__}: "
                                     f"it is already a {kind} field")
            if name in _PRIVATE or name.startswith("__") or name in _reserved(type(self)):
                raise AttributeError(f"{name!r} is reserved by {type(self).__name__} and cannot be a field")
        if field_type == "data":
            value = self._check_value(name, value)
        own[name] = None
        object.__setattr__(self, name, value)

    def _set_property(self, prop: property, name: str, value: Any) -> None:
        if prop.fset is None:
            raise AttributeError(f"{type(self).__name__}.{name} is read-only")
        if name in self._metainfo_fields:
            raise AttributeError(f"cannot set {name!r} as data of {type(self).__name__}: "
                                 f"it is already a metainfo field")
        prop.fset(self, value)  # the setter stores the value (usually in '_' + name)
        self._data_fields[name] = None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PRIVATE:
            raise AttributeError(f"{name} is private to {type(self).__name__}")
        self.set_field(value, name, field_type="data")

    def __delattr__(self, name: str) -> None:
        if name in _PRIVATE:
            raise AttributeError(f"{name} cannot be deleted")
        object.__delattr__(self, name)  # runs a property's deleter, which drops its backing field
        self._metainfo_fields.pop(name, None)
        self._data_fields.pop(name, None)

    __delitem__ = __delattr__

    def pop(self, name: str, *default: Any) -> Any:
        """Remove a field and return its value; like ``dict.pop``, ``default`` avoids the KeyError."""
        if len(default) > 1:
            raise TypeError(f"{type(self).__name__}.pop takes at most 2 arguments, got {1 + len(default)}")
        if name in self._metainfo_fields or name in self._data_fields:
            value = getattr(self, name)
            delattr(self, name)
            return value
        if default:
            return default[0]
        raise KeyError(f"{name!r} is not a field of this {type(self).__name__}")

    # ------------------------------------------------------------- reading
    def get(self, key: str, default: Any = None) -> Any:
        """A field's value (properties included), or ``default``."""
        return getattr(self, key, default)

    def keys(self) -> List[str]:
        """Data field names in the order they were set; a property's backing ``_name`` is left out."""
        cls = type(self)
        return [k for k in self._data_fields
                if not (k.startswith("_") and _property(cls, k[1:]) is not None)]

    def metainfo_keys(self) -> List[str]:
        return list(self._metainfo_fields)

    def all_keys(self) -> List[str]:
        return self.metainfo_keys() + self.keys()

    def values(self) -> List[Any]:
        return [getattr(self, k) for k in self.keys()]

    def metainfo_values(self) -> List[Any]:
        return [getattr(self, k) for k in self.metainfo_keys()]

    def all_values(self) -> List[Any]:
        return self.metainfo_values() + self.values()

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
        """Metainfo and data as one plain dict; nested elements become dicts too."""
        return {k: v.to_dict() if isinstance(v, BaseDataElement) else v for k, v in self.all_items()}

    # ------------------------------------------------------------- copies and moves
    def new(self, *, metainfo: Optional[dict] = None, **kwargs: Any) -> "BaseDataElement":
        """A shallow copy of the same type, with metainfo/data replaced where given."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()) if metainfo is None else metainfo)
        out.set_data(kwargs if kwargs else dict(self.items()))
        return out

    def clone(self) -> "BaseDataElement":
        """A copy whose tensors, arrays and nested elements are copies too (metainfo is shared)."""
        out = type(self)()
        out.set_metainfo(dict(self.metainfo_items()))
        out.set_data({k: (v.clone() if isinstance(v, (torch.Tensor, BaseDataElement)) else copy.deepcopy(v))
                      for k, v in self.items()})
        return out

    def _apply(self, fn: Callable[[Any], Any], applies: Callable[[Any], bool]) -> "BaseDataElement":
        out = self.new()
        for k, v in self.items():
            if applies(v):
                setattr(out, k, fn(v))
        return out

    @staticmethod
    def _is_tensor_like(value: Any) -> bool:
        return isinstance(value, (torch.Tensor, BaseDataElement))

    def to(self, *args: Any, **kwargs: Any) -> "BaseDataElement":
        """A copy with ``v.to(*args, **kwargs)`` applied to every data value that has ``to``."""
        return self._apply(lambda v: v.to(*args, **kwargs), lambda v: callable(getattr(v, "to", None)))

    def cpu(self) -> "BaseDataElement":
        return self._apply(lambda v: v.cpu(), self._is_tensor_like)

    def cuda(self) -> "BaseDataElement":
        return self._apply(lambda v: v.cuda(), self._is_tensor_like)

    def detach(self) -> "BaseDataElement":
        return self._apply(lambda v: v.detach(), self._is_tensor_like)

    def numpy(self) -> "BaseDataElement":
        """A copy with every tensor turned into a numpy array (detached, on the CPU)."""
        return self._apply(lambda v: v.numpy() if isinstance(v, BaseDataElement) else v.detach().cpu().numpy(),
                           self._is_tensor_like)

    def to_tensor(self) -> "BaseDataElement":
        """A copy with every numpy array turned into a tensor (sharing memory)."""
        return self._apply(lambda v: v.to_tensor() if isinstance(v, BaseDataElement) else torch.from_numpy(v),
                           lambda v: isinstance(v, (np.ndarray, BaseDataElement)))

    # ------------------------------------------------------------- display
    def __repr__(self) -> str:
        def indent(text: str) -> str:
            return text.replace("\n", "\n    ")

        lines = [f"<{type(self).__name__}(", "", "    META INFORMATION"]
        lines += [f"    {k}: {indent(repr(v))}" for k, v in self.metainfo_items()]
        lines += ["", "    DATA FIELDS"]
        lines += [f"    {k}: {indent(repr(v))}" for k, v in self.items()]
        lines.append(f") at {hex(id(self))}>")
        return "\n".join(lines)
