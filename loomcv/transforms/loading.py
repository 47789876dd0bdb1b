"""LoadImageFromFile and LoadAnnotations: the first steps of most pipelines."""

import os.path as osp
import warnings
from typing import Dict, Optional

import numpy as np

from loomcv import fileio
from loomcv.image import ImageDecodeError, imfrombytes
from loomcv.image.io import IMREAD_BACKENDS, _CV2_FLAGS
from loomcv.registry import TRANSFORMS
from loomcv.validation import check, check_choice

from .annotations import polygons_to_bitmap, rle_to_bitmap
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


def _instance_shape(results: Dict) -> tuple:
    """(h, w) the mask annotations are drawn on: the original image's."""
    for key in ("ori_shape", "img_shape"):
        if results.get(key) is not None:
            return tuple(int(v) for v in results[key][:2])
    if "height" in results and "width" in results:
        return int(results["height"]), int(results["width"])
    raise KeyError("LoadAnnotations(with_mask=True) needs the image size to draw masks on: results has no "
                   "'ori_shape', 'img_shape' or 'height'/'width' (load the image first)")


def _is_rle(mask) -> bool:
    return isinstance(mask, dict) and mask.get("size") is not None and isinstance(mask.get("counts"),
                                                                                    (list, str, bytes))


@TRANSFORMS.register_module()
class LoadAnnotations(BaseTransform):
    """Turn the dataset's ``instances`` list (and ``seg_map_path``) into arrays.

    Each instance is a dict with ``bbox`` (x1, y1, x2, y2), ``bbox_label``,
    ``ignore_flag``, and optionally ``mask`` (polygons ``[[x0, y0, x1, y1, ...], ...]``
    or COCO RLE ``{'size': [h, w], 'counts': ...}``) and ``keypoints`` (K x 3
    x, y, visibility, or flat). Masks become (N, H, W) uint8 bitmaps at the
    original image size (``poly2mask``), or stay polygons (float arrays) with
    ``poly2mask=False``. An instance whose mask has no usable polygon (or is RLE
    with poly2mask=False) is flagged ignored and gets an empty mask, as MMDetection does.
    Polygons are rasterized and RLE decoded in numpy: no compiled dependency.

    Required Keys: instances (bbox, bbox_label, ignore_flag, mask, keypoints as asked), seg_map_path
        (with_seg), ori_shape or img_shape (with_mask)
    Modified Keys: -
    Added Keys: gt_bboxes (float32 N x 4), gt_ignore_flags (bool N), gt_bboxes_labels (int64 N),
        gt_masks, gt_seg_map (HxW), gt_keypoints (float32 N x K x 3)
    """

    def __init__(self, with_bbox: bool = True, with_label: bool = True, with_seg: bool = False,
                 with_keypoints: bool = False, imdecode_backend: str = "cv2",
                 file_client_args: Optional[dict] = None, *, backend_args: Optional[dict] = None,
                 with_mask: bool = False, poly2mask: bool = True):
        check_choice(self, "imdecode_backend", imdecode_backend, IMREAD_BACKENDS)
        check(file_client_args is None or backend_args is None, self,
              "give `backend_args` or the legacy `file_client_args`, not both")
        for name, value in (("file_client_args", file_client_args), ("backend_args", backend_args)):
            check(value is None or isinstance(value, dict), self,
                  f"{name} must be a dict such as dict(backend='local'), got {value!r}")
        self.with_bbox = with_bbox
        self.with_label = with_label
        self.with_seg = with_seg
        self.with_keypoints = with_keypoints
        self.imdecode_backend = imdecode_backend
        self.file_client_args = file_client_args
        self.backend_args = backend_args
        self.with_mask = with_mask
        self.poly2mask = poly2mask
        self._args = backend_args if backend_args is not None else file_client_args

    @staticmethod
    def _instances(results: Dict) -> list:
        instances = results.get("instances", [])
        if not isinstance(instances, (list, tuple)):
            raise TypeError(f"LoadAnnotations: results['instances'] must be a list of dicts, got "
                            f"{type(instances).__name__}")
        return list(instances)

    @staticmethod
    def _field(instance: Dict, key: str, index: int):
        if key not in instance:
            raise KeyError(f"LoadAnnotations: instances[{index}] has no {key!r} (keys: {sorted(instance)})")
        return instance[key]

    def _load_masks(self, results: Dict, instances: list) -> None:
        h, w = _instance_shape(results)
        masks, ignore = [], []
        for i, instance in enumerate(instances):
            mask = self._field(instance, "mask", i)
            flag = bool(instance.get("ignore_flag", 0))
            if isinstance(mask, (list, tuple)):
                parts = [np.asarray(p, dtype=np.float32) for p in mask if len(p) % 2 == 0 and len(p) >= 6]
                if not parts:
                    flag, parts = True, []
                masks.append(polygons_to_bitmap(parts, h, w) if self.poly2mask else parts)
            elif self.poly2mask and _is_rle(mask):
                masks.append(rle_to_bitmap(mask))
            else:  # RLE without poly2mask, or no usable annotation
                flag = True
                masks.append(np.zeros((h, w), np.uint8) if self.poly2mask else [])
            ignore.append(flag)
        if self.poly2mask:
            results["gt_masks"] = np.stack(masks) if masks else np.zeros((0, h, w), np.uint8)
        else:
            results["gt_masks"] = masks
        results["gt_ignore_flags"] = np.array(ignore, dtype=bool)

    def _load_seg_map(self, results: Dict) -> None:
        path = results.get("seg_map_path")
        if path is None:
            raise KeyError("LoadAnnotations(with_seg=True) needs results['seg_map_path']")
        content = fileio.get_file_backend(path, self._args).get(path)
        try:
            seg = imfrombytes(content, flag="unchanged", backend=self.imdecode_backend)
        except ImageDecodeError as err:
            raise ImageDecodeError(f"cannot load segmentation map {path!r}: {err}") from None
        results["gt_seg_map"] = seg.squeeze()

    def transform(self, results: Dict) -> Dict:
        instances = self._instances(results) if (
            self.with_bbox or self.with_label or self.with_mask or self.with_keypoints) else []
        if self.with_bbox:
            boxes = [self._field(inst, "bbox", i) for i, inst in enumerate(instances)]
            results["gt_bboxes"] = np.array(boxes, dtype=np.float32).reshape(-1, 4)
            results["gt_ignore_flags"] = np.array([bool(inst.get("ignore_flag", 0)) for inst in instances],
                                                  dtype=bool)
        if self.with_label:
            results["gt_bboxes_labels"] = np.array(
                [self._field(inst, "bbox_label", i) for i, inst in enumerate(instances)], dtype=np.int64)
        if self.with_mask:
            self._load_masks(results, instances)
        if self.with_seg:
            self._load_seg_map(results)
        if self.with_keypoints:
            points = [np.asarray(self._field(inst, "keypoints", i), dtype=np.float32)
                      for i, inst in enumerate(instances)]
            dims = {p.shape[-1] if p.ndim == 2 else 3 for p in points}
            check(len(dims) <= 1, self, f"instances mix keypoints with {sorted(dims)} values per point")
            dim = dims.pop() if dims else 3
            results["gt_keypoints"] = np.array([p.reshape(-1, dim) for p in points],
                                               dtype=np.float32).reshape(len(points), -1, dim)
        return results
