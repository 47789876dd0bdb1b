"""Decode, read and write images (cv2 or Pillow), naming the file on failure."""

import io
import os.path as osp
from pathlib import Path
from typing import Any, Dict, Optional, Union

import cv2
import numpy as np

import warnings

from loomcv import fileio
from loomcv.errors import ConfigError
from loomcv.validation import check_choice

from .backend import current_backend

_CV2_FLAGS = {
    "color": cv2.IMREAD_COLOR,
    "grayscale": cv2.IMREAD_GRAYSCALE,
    "unchanged": cv2.IMREAD_UNCHANGED,
    "color_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_COLOR,
    "grayscale_ignore_orientation": cv2.IMREAD_IGNORE_ORIENTATION | cv2.IMREAD_GRAYSCALE,
}
IMREAD_BACKENDS = ("cv2", "pillow")
CHANNEL_ORDERS = ("bgr", "rgb")


class ImageDecodeError(ValueError):
    """Bytes that are not an image the chosen backend can decode."""


def _check(flag: str, channel_order: str, backend: str) -> None:
    check_choice("imread", "flag", flag, tuple(_CV2_FLAGS))
    check_choice("imread", "channel_order", channel_order, CHANNEL_ORDERS)
    check_choice("imread", "backend", backend, IMREAD_BACKENDS)


def _pillow_decode(content: bytes, flag: str, channel_order: str) -> np.ndarray:
    from PIL import Image, ImageOps

    img = Image.open(io.BytesIO(content))
    if "ignore_orientation" not in flag and flag != "unchanged":
        img = ImageOps.exif_transpose(img)
    if flag.startswith("grayscale"):
        return np.array(img.convert("L"))
    if flag == "unchanged":
        array = np.array(img)
        if array.ndim == 3 and array.shape[2] >= 3 and channel_order == "bgr":
            array = np.ascontiguousarray(array[..., [2, 1, 0, *range(3, array.shape[2])]])
        return array
    array = np.array(img.convert("RGB"))
    return cv2.cvtColor(array, cv2.COLOR_RGB2BGR) if channel_order == "bgr" else array


def imfrombytes(content: bytes, flag: str = "color", channel_order: str = "bgr",
                backend: Optional[str] = None) -> np.ndarray:
    """Decode image bytes into an HxW or HxWxC uint8 array (``backend=None``: see ``use_backend``)."""
    backend = backend or current_backend()
    _check(flag, channel_order, backend)
    if backend == "pillow":
        try:
            return _pillow_decode(content, flag, channel_order)
        except Exception as err:  # PIL raises several types for bad data
            raise ImageDecodeError(f"Pillow cannot decode the image: {err}") from None
    img = cv2.imdecode(np.frombuffer(content, np.uint8), _CV2_FLAGS[flag])
    if img is None:
        raise ImageDecodeError(f"cv2 cannot decode the image ({len(content)} bytes; empty or corrupt?)")
    if flag.startswith("color") and channel_order == "rgb":
        cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    return img


def _storage_args(owner: str, file_client_args: Optional[dict], backend_args: Optional[dict]) -> Optional[dict]:
    """MMCV 2.x still accepts the 1.x ``file_client_args``; it means the same as ``backend_args``."""
    if file_client_args is None:
        return backend_args
    if backend_args is not None:
        raise ConfigError(f"{owner}: give `backend_args` or the legacy `file_client_args`, not both")
    warnings.warn(f"{owner}: `file_client_args` is deprecated; use `backend_args`", DeprecationWarning,
                  stacklevel=3)
    return file_client_args


def imread(img_or_path: Union[np.ndarray, str, Path], flag: str = "color", channel_order: str = "bgr",
           backend: Optional[str] = None, file_client_args: Optional[Dict[str, Any]] = None, *,
           backend_args: Optional[Dict[str, Any]] = None) -> np.ndarray:
    """Read an image from a path or URL (any storage backend); arrays pass through."""
    if isinstance(img_or_path, np.ndarray):
        return img_or_path
    if not isinstance(img_or_path, (str, Path)):
        raise TypeError(f"imread takes a path or an ndarray, got {type(img_or_path).__name__}")
    content = fileio.get(img_or_path, _storage_args("imread", file_client_args, backend_args))
    try:
        return imfrombytes(content, flag, channel_order, backend)
    except ImageDecodeError as err:
        raise ImageDecodeError(f"cannot read image {str(img_or_path)!r}: {err}") from None


def imwrite(img: np.ndarray, file_path: Union[str, Path], params: Optional[list] = None,
            auto_mkdir: Optional[bool] = None, file_client_args: Optional[Dict[str, Any]] = None, *,
            backend_args: Optional[Dict[str, Any]] = None) -> bool:
    """Encode ``img`` by the file's extension and write it through the storage backends.

    Folders are made as needed (``auto_mkdir`` is accepted for MMCV 1.x code and
    changes nothing). Returns True when the image was encoded and written.
    """
    ext = osp.splitext(str(file_path))[1]
    if not ext:
        raise ConfigError(f"imwrite: {str(file_path)!r} has no extension to choose the format by")
    storage = _storage_args("imwrite", file_client_args, backend_args)
    ok, buf = cv2.imencode(ext, img, params or [])
    if not ok:
        raise ImageDecodeError(f"imwrite: cv2 cannot encode an image of shape {img.shape} as {ext}")
    fileio.put(buf.tobytes(), file_path, storage)
    return True
