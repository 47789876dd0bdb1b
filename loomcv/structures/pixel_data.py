"""PixelData: per-pixel annotations or predictions (segmentation maps, heat maps, features).

Every data field is a C×H×W tensor or ndarray over the same H×W grid, so a
spatial crop (``seg[10:50, 20:80]``) crops every field at once.
"""

import numbers
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .base_data_element import BaseDataElement

_INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "area", "nearest-exact")
_PAD_MODES = ("constant", "reflect", "replicate", "circular")


class PixelData(BaseDataElement):
    """Data fields of shape C×H×W sharing one H×W; an H×W value is stored as 1×H×W."""

    def _check_value(self, name: str, value: Any) -> Any:
        if not isinstance(value, (torch.Tensor, np.ndarray)):
            raise TypeError(f"PixelData field {name!r} must be a torch.Tensor or np.ndarray, "
                            f"got {type(value).__name__}")
        if value.ndim not in (2, 3):
            raise ValueError(f"PixelData field {name!r} must be C×H×W or H×W, got shape {tuple(value.shape)}")
        if value.ndim == 2:
            value = value[None]
        others = [k for k in self._data_fields if k != name and k in self.__dict__]
        if others:
            expected = tuple(self.__dict__[others[0]].shape[-2:])
            if tuple(value.shape[-2:]) != expected:
                raise ValueError(f"PixelData field {name!r} has height×width {tuple(value.shape[-2:])}, but the "
                                 f"other fields ({', '.join(map(repr, others))}) have {expected}")
        return value

    @property
    def shape(self) -> Optional[Tuple[int, int]]:
        """(H, W) of the fields, or None when there is no data field."""
        for name in self._data_fields:
            if name in self.__dict__:
                return tuple(self.__dict__[name].shape[-2:])
        return None

    def __len__(self) -> int:
        """The height H (the first axis an index selects); 0 when there is no data field."""
        shape = self.shape
        return 0 if shape is None else shape[0]

    def __getitem__(self, item: Tuple[Union[int, slice], Union[int, slice]]) -> "PixelData":
        """Crop every field: ``pixel_data[rows, cols]`` with an int or a slice for each; ints keep the axis."""
        if not isinstance(item, tuple):
            raise TypeError(f"PixelData index must be a (rows, cols) pair of ints or slices, "
                            f"got {type(item).__name__}")
        if len(item) != 2:
            raise TypeError(f"PixelData index must be a (rows, cols) pair of ints or slices, got {len(item)} items")
        shape = self.shape or (0, 0)
        spatial = []
        for axis, (index, size) in enumerate(zip(item, shape)):  # noqa: B905 (both hold 2)
            if isinstance(index, numbers.Integral) and not isinstance(index, bool):
                if not -size <= index < size:
                    raise IndexError(f"PixelData index {index} is out of range for axis "
                                     f"{'HW'[axis]} of size {size}")
                index = int(index) % size
                index = slice(index, index + 1)
            elif not isinstance(index, slice):
                raise TypeError(f"PixelData index items must be ints or slices, got {type(index).__name__}")
            spatial.append(index)
        out = type(self)(metainfo=self.metainfo)
        for name, value in self.items():
            setattr(out, name, value[(slice(None), *spatial)])
        return out

    # ------------------------------------------------------------- resampling
    def resize(self, size: Sequence[int], interpolation: str = "bilinear") -> "PixelData":
        """A new PixelData with every field resized to ``size`` = (H, W); dtypes are kept."""
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise TypeError(f"PixelData.resize: size must be (height, width), got {size!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"PixelData.resize: interpolation must be one of {_INTERPOLATIONS}, "
                             f"got {interpolation!r}")
        if self.shape == tuple(size):
            return self.clone()
        from torch.nn.functional import interpolate
        return self._map(lambda t: interpolate(t[None], size=tuple(size), mode=interpolation)[0])

    def padding(self, pad_size: Sequence[int], mode: str = "constant", value: Any = 0) -> "PixelData":
        """A new PixelData with every field padded as ``torch.nn.functional.pad(field, pad_size, mode, value)``.

        ``pad_size`` is (left, right), (left, right, top, bottom) or that plus (front, back) for channels.
        """
        if not isinstance(pad_size, (tuple, list)) or len(pad_size) not in (2, 4, 6):
            raise TypeError(f"PixelData.padding: pad_size must hold 2, 4 or 6 ints, got {pad_size!r}")
        if mode not in _PAD_MODES:
            raise ValueError(f"PixelData.padding: mode must be one of {_PAD_MODES}, got {mode!r}")
        if not any(pad_size):
            return self.clone()
        from torch.nn.functional import pad
        return self._map(lambda t: pad(t, pad=tuple(pad_size), mode=mode,
                                       value=value if mode == "constant" else None))

    def _map(self, fn) -> "PixelData":
        """Apply a float32 tensor op to every field, giving back each field's type and dtype."""
        out = type(self)(metainfo=self.metainfo)
        for name, v in self.items():
            data = torch.from_numpy(v) if isinstance(v, np.ndarray) else v
            result = fn(data.to(torch.float32))
            if isinstance(v, np.ndarray):
                result = result.numpy().astype(v.dtype)
            else:
                result = result.to(v.dtype)
            setattr(out, name, result)
        return out
