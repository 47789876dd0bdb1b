"""Which device data lives on, and moving nested data between devices (MMEngine's
``get_data_device``, ``get_comm_device``, ``cast_data_device``)."""

from collections.abc import Iterable, Mapping
from typing import Any, Optional

import torch

from .collectives import backend_device


def get_data_device(data: Any) -> torch.device:
    """The one device of a tensor, or of every tensor in a (nested) dict or sequence."""
    if isinstance(data, torch.Tensor):
        return data.device
    if isinstance(data, Mapping):
        items = list(data.values())
    elif isinstance(data, Iterable) and not isinstance(data, (str, bytes)):
        items = list(data)
    else:
        raise TypeError(f"get_data_device takes a tensor or a dict/sequence of tensors, got {type(data).__name__}")
    if not items:
        raise ValueError("get_data_device: the data is empty")
    devices = {get_data_device(item) for item in items}
    if len(devices) > 1:
        raise ValueError(f"get_data_device: the tensors are on several devices: {sorted(map(str, devices))}")
    return devices.pop()


def get_comm_device(group: Optional[object] = None) -> torch.device:
    """The device collectives of ``group`` need their tensors on (CUDA for NCCL, else CPU)."""
    return backend_device(group)


def cast_data_device(data: Any, device: torch.device, out: Any = None) -> Any:
    """``data`` (a tensor, or a dict/list/tuple of them) moved to ``device``; with ``out`` (the same
    structure), copied into it instead and ``out`` returned."""
    if isinstance(data, torch.Tensor):
        moved = data.to(device)
        if out is None:
            return moved
        out.copy_(moved)
        return out
    if isinstance(data, Mapping):
        if out is not None and set(out) != set(data):
            raise ValueError("cast_data_device: out must have the same keys as data")
        return type(data)({k: cast_data_device(v, device, None if out is None else out[k]) for k, v in data.items()})
    if isinstance(data, (list, tuple)):
        if out is not None and len(out) != len(data):
            raise ValueError("cast_data_device: out must have as many items as data")
        return type(data)(cast_data_device(v, device, None if out is None else out[i]) for i, v in enumerate(data))
    raise TypeError(f"cast_data_device takes tensors or dicts/lists of them, got {type(data).__name__}")
