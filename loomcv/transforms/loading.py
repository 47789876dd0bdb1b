"""LoadImageFromFile: the first step of most pipelines."""

import os.path as osp
import warnings
from typing import Dict, Optional

import numpy as np

from loomcv import fileio
from loomcv.image import ImageDecodeError, imfrombytes
from loomcv.image.io import IMREAD_BACKENDS, _CV2_FLAGS
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice

from .base import BaseTransform


@TRANSFORMS.register_module()
class LoadImageFromFile(BaseTransform):
    """Read the image file ``results['img_path']`` into ``img`` (shapes are (h, w)).

    ``backend_args`` picks the storage backend (``dict(backend='lmdb', db_path=...)``);
    the MMCV 1.x ``file_client_args`` is accepted as the same thing. With
    ``ignore_empty`` a missing or unreadable file drops the sample (returns None)
    instead of raising.

    Required Keys: img_path (or img_prefix + img_info['filename'] from MMCls 0.x datasets)
    Modified Keys: img_path (filled in from img_prefix + img_info)
    Added Keys: img, img_shape, ori_shape
    """

    def __init__(self, to_float32: bool = False, color_type: str = "color", imdecode_backend: str = "cv2",
                 file_client_args: Optional[dict] = None, ignore_empty: bool = False, *,
                 backend_args: Optional[dict] = None):
        check_choice(self, "color_type", color_type, tuple(_CV2_FLAGS))
        check_choice(self, "imdecode_backend", imdecode_backend, IMREAD_BACKENDS)
        check(file_client_args is None or backend_args is None, self,
              "give `backend_args` or the legacy `file_client_args`, not both")
        for name, value in (("file_client_args", file_client_args), ("backend_args", backend_args)):
            check(value is None or isinstance(value, dict), self,
                  f"{name} must be a dict such as dict(backend='local'), got {value!r}")
        if file_client_args is not None:
            warnings.warn("LoadImageFromFile: `file_client_args` is deprecated; use `backend_args`",
                          DeprecationWarning, stacklevel=2)
        self.to_float32 = to_float32
        self.color_type = color_type
        self.imdecode_backend = imdecode_backend
        self.file_client_args = file_client_args
        self.ignore_empty = ignore_empty
        self.backend_args = backend_args
        self._args = backend_args if backend_args is not None else file_client_args
        self._backend = None  # resolved lazily, once per process (lmdb handles do not pickle)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_backend"] = None
        return state

    @staticmethod
    def _filename(results: Dict) -> str:
        path = results.get("img_path")
        if path is None:
            info = results.get("img_info")  # MMCls 0.x datasets: img_prefix + img_info['filename']
            if info is None:
                raise KeyError(f"LoadImageFromFile needs results['img_path']; got keys {list(results)}")
            prefix = results.get("img_prefix")
            path = osp.join(prefix, info["filename"]) if prefix else info["filename"]
            results["img_path"] = path
        return path

    def transform(self, results: Dict) -> Optional[Dict]:
        filename = self._filename(results)
        try:
            if self._args:
                if self._backend is None:
                    self._backend = fileio.get_file_backend(filename, self._args)
                content = self._backend.get(filename)
            else:
                content = fileio.get_file_backend(filename).get(filename)
            img = imfrombytes(content, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:  # a missing, unreachable or corrupt file
            if self.ignore_empty:
                return None
            if isinstance(err, ImageDecodeError):
                raise ImageDecodeError(f"cannot load image {filename!r}: {err}") from None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results["img"] = img
        results["img_shape"] = img.shape[:2]
        results["ori_shape"] = img.shape[:2]
        return results
