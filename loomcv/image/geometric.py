"""Geometric operations on HxW(xC) numpy images: resize, crop, pad, flip, affine warps.

Sizes are ``(w, h)`` as in cv2, shapes ``(h, w)`` as in numpy; boxes are
``(x1, y1, x2, y2)`` with inclusive corners.
"""

import numbers
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from loomcv.errors import ConfigError
from loomcv.validation import check_choice

from .backend import resolve_backend


CV2_INTERP = {
    "nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA, "lanczos": cv2.INTER_LANCZOS4,
}
PILLOW_INTERP = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}
INTERPOLATIONS = {"cv2": tuple(CV2_INTERP), "pillow": tuple(PILLOW_INTERP)}
BORDER_MODES = {
    "constant": cv2.BORDER_CONSTANT, "edge": cv2.BORDER_REPLICATE, "replicate": cv2.BORDER_REPLICATE,
    "reflect": cv2.BORDER_REFLECT_101, "symmetric": cv2.BORDER_REFLECT, "wrap": cv2.BORDER_WRAP,
}
PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def check_interpolation(interpolation: str, backend: str = "cv2", owner: str = "imresize") -> None:
    check_choice(owner, "backend", backend, tuple(INTERPOLATIONS))
    check_choice(owner, "interpolation", interpolation, INTERPOLATIONS[backend])


def imresize(img: np.ndarray, size: Tuple[int, int], return_scale: bool = False,
             interpolation: str = "bilinear", out: Optional[np.ndarray] = None, backend: Optional[str] = None):
    """Resize to ``size=(w, h)``; with ``return_scale`` also give ``(w_scale, h_scale)``.

    ``backend=None`` is the default set by :func:`use_backend` ('cv2' unless changed).
    """
    h, w = img.shape[:2]
    size = (int(size[0]), int(size[1]))
    backend = resolve_backend(backend, "imresize")
    if backend == "cv2":
        interp = CV2_INTERP.get(interpolation)
        if interp is None:
            check_interpolation(interpolation, backend)
        resized = cv2.resize(img, size, dst=out, interpolation=interp)
    else:
        check_interpolation(interpolation, backend)
        from PIL import Image
        if img.dtype != np.uint8:
            raise ConfigError("imresize: the pillow backend only takes uint8 images")
        resized = np.array(Image.fromarray(img).resize(size, PILLOW_INTERP[interpolation]))
    if not return_scale:
        return resized
    return resized, size[0] / w, size[1] / h


def imresize_like(img: np.ndarray, dst_img: np.ndarray, return_scale: bool = False,
                  interpolation: str = "bilinear", backend: Optional[str] = None):
    """Resize ``img`` to the height and width of ``dst_img``."""
    h, w = dst_img.shape[:2]
    return imresize(img, (w, h), return_scale, interpolation, backend=backend)


def scale_size(size: Tuple[int, int], scale: Union[float, Tuple[float, float]]) -> Tuple[int, int]:
    """``(w, h)`` times a factor (or a (w, h) pair of factors), rounded half up."""
    if isinstance(scale, (float, int)):
        scale = (scale, scale)
    w, h = size
    return int(w * float(scale[0]) + 0.5), int(h * float(scale[1]) + 0.5)


def imresize_to_multiple(img: np.ndarray, divisor: Union[int, Tuple[int, int]],
                         size: Optional[Union[int, Tuple[int, int]]] = None,
                         scale_factor: Optional[Union[float, Tuple[float, float]]] = None,
                         keep_ratio: bool = False, return_scale: bool = False, interpolation: str = "bilinear",
                         out: Optional[np.ndarray] = None, backend: Optional[str] = None):
    """Resize to ``size`` (or by ``scale_factor``), then round each side up to a multiple of ``divisor``.

    ``divisor`` is an int or a (w, h) pair; with ``keep_ratio`` the image is fitted
    inside ``size`` first (as :func:`imrescale`).
    """
    if (size is None) == (scale_factor is None):
        raise ConfigError("imresize_to_multiple: give exactly one of `size` and `scale_factor`")
    h, w = img.shape[:2]
    if size is not None:
        size = (size, size) if isinstance(size, numbers.Number) else tuple(size)
        if keep_ratio:
            size = rescale_size((w, h), size)
    else:
        size = scale_size((w, h), scale_factor)
    divisor = (divisor, divisor) if isinstance(divisor, numbers.Number) else tuple(divisor)
    size = tuple(int(np.ceil(s / d)) * int(d) for s, d in zip(size, divisor))
    resized, w_scale, h_scale = imresize(img, size, return_scale=True, interpolation=interpolation, out=out,
                                         backend=backend)
    return (resized, w_scale, h_scale) if return_scale else resized


def rescale_size(old_size: Tuple[int, int], scale: Union[float, Tuple[int, int]],
                 return_scale: bool = False):
    """The ``(w, h)`` that keeps the aspect ratio: scale by a factor, or fit in (long, short) edges."""
    w, h = old_size
    if isinstance(scale, (float, int)):
        if scale <= 0:
            raise ConfigError(f"rescale: scale must be positive, got {scale}")
        factor = float(scale)
    elif isinstance(scale, (tuple, list)) and len(scale) == 2:
        long_edge, short_edge = max(scale), min(scale)
        factor = min(long_edge / max(h, w), short_edge / min(h, w))
    else:
        raise ConfigError(f"rescale: scale must be a number or a (long, short) edge pair, got {scale!r}")
    new_size = scale_size((w, h), factor)
    return (new_size, factor) if return_scale else new_size


def imrescale(img: np.ndarray, scale: Union[float, Tuple[int, int]], return_scale: bool = False,
              interpolation: str = "bilinear", backend: Optional[str] = None):
    """Resize keeping the aspect ratio (see :func:`rescale_size`)."""
    h, w = img.shape[:2]
    new_size, factor = rescale_size((w, h), scale, return_scale=True)
    rescaled = imresize(img, new_size, interpolation=interpolation, backend=backend)
    return (rescaled, factor) if return_scale else rescaled


def bbox_clip(bboxes: np.ndarray, img_shape: Tuple[int, int]) -> np.ndarray:
    clipped = bboxes.copy()
    clipped[..., 0::2] = np.clip(bboxes[..., 0::2], 0, img_shape[1] - 1)
    clipped[..., 1::2] = np.clip(bboxes[..., 1::2], 0, img_shape[0] - 1)
    return clipped


def bbox_scaling(bboxes: np.ndarray, scale: float, clip_shape: Optional[Tuple[int, int]] = None):
    """Grow (or shrink) boxes about their centres by ``scale``."""
    if float(scale) == 1.0:
        scaled = bboxes.copy()
    else:
        w = bboxes[..., 2] - bboxes[..., 0] + 1
        h = bboxes[..., 3] - bboxes[..., 1] + 1
        dw, dh = (w * (scale - 1)) * 0.5, (h * (scale - 1)) * 0.5
        scaled = bboxes + np.stack((-dw, -dh, dw, dh), axis=-1)
    return bbox_clip(scaled, clip_shape) if clip_shape is not None else scaled


def imcrop(img: np.ndarray, bboxes: np.ndarray, scale: float = 1.0,
           pad_fill: Optional[Union[float, Sequence[float]]] = None):
    """Crop one box (shape (4,)) -> a patch, or several (n, 4) -> a list of patches.

    Without ``pad_fill`` boxes are clipped to the image and the patch is a view.
    With it, the parts of a box outside the image are filled with ``pad_fill``.
    """
    bboxes = np.asarray(bboxes)
    single = bboxes.ndim == 1
    if bboxes.shape[-1] != 4:
        raise ConfigError(f"imcrop: boxes must have 4 coordinates (x1, y1, x2, y2), got shape {bboxes.shape}")
    boxes = bboxes[None] if single else bboxes
    chn = 1 if img.ndim == 2 else img.shape[2]
    if pad_fill is not None and isinstance(pad_fill, numbers.Number):
        pad_fill = [pad_fill] * chn
    scaled = bbox_scaling(boxes, scale).astype(np.int64)
    clipped = bbox_clip(scaled, img.shape)
    patches = []
    for i in range(boxes.shape[0]):
        x1, y1, x2, y2 = (int(v) for v in clipped[i])
        if pad_fill is None:
            patches.append(img[y1:y2 + 1, x1:x2 + 1, ...])
            continue
        _x1, _y1, _x2, _y2 = (int(v) for v in scaled[i])
        shape = (_y2 - _y1 + 1, _x2 - _x1 + 1) + (() if img.ndim == 2 else (chn,))
        patch = np.array(pad_fill, dtype=img.dtype) * np.ones(shape, dtype=img.dtype)
        ox, oy = x1 - _x1, y1 - _y1
        patch[oy:oy + y2 - y1 + 1, ox:ox + x2 - x1 + 1, ...] = img[y1:y2 + 1, x1:x2 + 1, ...]
        patches.append(patch)
    return patches[0] if single else patches


def _padding4(padding: Union[int, Sequence[int]]) -> Tuple[int, int, int, int]:
    """(left, top, right, bottom) from an int, a (lr, tb) pair or four values."""
    if isinstance(padding, numbers.Number):
        return (int(padding),) * 4
    padding = tuple(int(p) for p in padding)
    if len(padding) == 2:
        return (padding[0], padding[1], padding[0], padding[1])
    if len(padding) == 4:
        return padding
    raise ConfigError(f"padding must be an int or a tuple of 2 or 4 ints, got {padding!r}")


def impad(img: np.ndarray, *, shape: Optional[Tuple[int, int]] = None,
          padding: Optional[Union[int, Sequence[int]]] = None,
          pad_val: Union[float, Sequence[float]] = 0, padding_mode: str = "constant") -> np.ndarray:
    """Pad to ``shape=(h, w)`` (bottom/right) or by ``padding=(left, top, right, bottom)``."""
    if (shape is None) == (padding is None):
        raise ConfigError("impad: give exactly one of `shape` and `padding`")
    check_choice("impad", "padding_mode", padding_mode, PAD_MODES)
    if shape is not None:
        width = max(int(shape[1]) - img.shape[1], 0)
        height = max(int(shape[0]) - img.shape[0], 0)
        left, top, right, bottom = 0, 0, width, height
    else:
        left, top, right, bottom = _padding4(padding)
    if isinstance(pad_val, (tuple, list)):
        if img.ndim == 3 and len(pad_val) != img.shape[-1]:
            raise ConfigError(f"impad: pad_val has {len(pad_val)} values for {img.shape[-1]} channels")
        value = tuple(float(v) for v in pad_val)
    elif isinstance(pad_val, numbers.Number):  # cv2 would fill only the first channel with a scalar
        value = (float(pad_val),) * (1 if img.ndim == 2 else min(img.shape[2], 4))
    else:
        raise TypeError(f"impad: pad_val must be a number or a tuple, got {type(pad_val).__name__}")
    if img.ndim == 3 and img.shape[2] > 4:  # cv2 borders take at most 4 channel values
        widths = ((top, bottom), (left, right), (0, 0))
        if padding_mode != "constant":
            return np.pad(img, widths, mode=padding_mode)
        out = np.empty((img.shape[0] + top + bottom, img.shape[1] + left + right, img.shape[2]), img.dtype)
        out[...] = value if isinstance(pad_val, (tuple, list)) else value[0]
        out[top:top + img.shape[0], left:left + img.shape[1]] = img
        return out
    img = np.ascontiguousarray(img)
    return cv2.copyMakeBorder(img, top, bottom, left, right, BORDER_MODES[padding_mode], value=value)


def impad_to_multiple(img: np.ndarray, divisor: int, pad_val: Union[float, Sequence[float]] = 0) -> np.ndarray:
    """Pad bottom/right so both sides are multiples of ``divisor``."""
    pad_h = int(np.ceil(img.shape[0] / divisor)) * divisor
    pad_w = int(np.ceil(img.shape[1] / divisor)) * divisor
    return impad(img, shape=(pad_h, pad_w), pad_val=pad_val)


FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")
_CV2_FLIP = {"horizontal": 1, "vertical": 0, "diagonal": -1}


def imflip(img: np.ndarray, direction: str = "horizontal") -> np.ndarray:
    """Mirror left-right, top-bottom, or both ('diagonal'); returns a new contiguous array."""
    code = _CV2_FLIP.get(direction)
    if code is None:
        check_choice("imflip", "direction", direction, FLIP_DIRECTIONS)
    if img.dtype in (np.uint8, np.float32, np.float64) and (img.ndim == 2 or img.shape[2] <= 4):
        return cv2.flip(img, code)
    axes = {"horizontal": 1, "vertical": 0, "diagonal": (0, 1)}[direction]
    return np.ascontiguousarray(np.flip(img, axis=axes))


def imflip_(img: np.ndarray, direction: str = "horizontal") -> np.ndarray:
    """:func:`imflip` in place: ``img`` itself is mirrored and returned."""
    code = _CV2_FLIP.get(direction)
    if code is None:
        check_choice("imflip_", "direction", direction, FLIP_DIRECTIONS)
    if img.flags.c_contiguous and img.dtype in (np.uint8, np.float32, np.float64) and (
            img.ndim == 2 or img.shape[2] <= 4):
        return cv2.flip(img, code, img)
    axes = {"horizontal": 1, "vertical": 0, "diagonal": (0, 1)}[direction]
    img[...] = np.flip(img, axis=axes).copy()
    return img


def _fill(border_value: Union[float, Sequence[float]], img: np.ndarray):
    if isinstance(border_value, numbers.Number):
        return (float(border_value),) * (1 if img.ndim == 2 else min(img.shape[2], 4))
    return tuple(float(v) for v in border_value)


def _warp(img: np.ndarray, matrix: np.ndarray, size: Tuple[int, int], border_value, interpolation: str,
          border_mode: str = "constant") -> np.ndarray:
    check_choice("warp", "interpolation", interpolation, tuple(CV2_INTERP))
    check_choice("warp", "border_mode", border_mode, tuple(BORDER_MODES))
    return cv2.warpAffine(img, matrix, size, flags=CV2_INTERP[interpolation],
                          borderMode=BORDER_MODES[border_mode], borderValue=_fill(border_value, img))


def imrotate(img: np.ndarray, angle: float, center: Optional[Tuple[float, float]] = None,
             scale: float = 1.0, border_value: Union[float, Sequence[float]] = 0,
             interpolation: str = "bilinear", auto_bound: bool = False,
             border_mode: str = "constant") -> np.ndarray:
    """Rotate clockwise by ``angle`` degrees about ``center`` (default: the image centre)."""
    if center is not None and auto_bound:
        raise ConfigError("imrotate: `auto_bound` cannot be combined with a `center`")
    h, w = img.shape[:2]
    if center is None:
        center = ((w - 1) * 0.5, (h - 1) * 0.5)
    matrix = cv2.getRotationMatrix2D(center, -angle, scale)
    if auto_bound:
        cos, sin = np.abs(matrix[0, 0]), np.abs(matrix[0, 1])
        new_w, new_h = h * sin + w * cos, h * cos + w * sin
        matrix[0, 2] += (new_w - w) * 0.5
        matrix[1, 2] += (new_h - h) * 0.5
        w, h = int(np.round(new_w)), int(np.round(new_h))
    return _warp(img, matrix, (w, h), border_value, interpolation, border_mode)


def imshear(img: np.ndarray, magnitude: float, direction: str = "horizontal",
            border_value: Union[float, Sequence[float]] = 0, interpolation: str = "bilinear") -> np.ndarray:
    """Shear by ``magnitude`` (x += m*y for horizontal, y += m*x for vertical)."""
    check_choice("imshear", "direction", direction, ("horizontal", "vertical"))
    matrix = np.float32([[1, magnitude, 0], [0, 1, 0]] if direction == "horizontal"
                        else [[1, 0, 0], [magnitude, 1, 0]])
    return _warp(img, matrix, (img.shape[1], img.shape[0]), border_value, interpolation)


def imtranslate(img: np.ndarray, offset: float, direction: str = "horizontal",
                border_value: Union[float, Sequence[float]] = 0, interpolation: str = "bilinear") -> np.ndarray:
    """Shift by ``offset`` pixels right (horizontal) or down (vertical); negative goes the other way."""
    check_choice("imtranslate", "direction", direction, ("horizontal", "vertical"))
    matrix = np.float32([[1, 0, offset], [0, 1, 0]] if direction == "horizontal"
                        else [[1, 0, 0], [0, 1, offset]])
    return _warp(img, matrix, (img.shape[1], img.shape[0]), border_value, interpolation)


def cutout(img: np.ndarray, shape: Union[int, Tuple[int, int]],
           pad_val: Union[float, Sequence[float]] = 0) -> np.ndarray:
    """Fill a ``shape=(h, w)`` rectangle at a random centre with ``pad_val`` (a copy)."""
    h, w = img.shape[:2]
    cut_h, cut_w = (shape, shape) if isinstance(shape, numbers.Number) else shape
    y0, x0 = np.random.uniform(h), np.random.uniform(w)
    y1, x1 = int(max(0, y0 - cut_h / 2.)), int(max(0, x0 - cut_w / 2.))
    y2, x2 = min(h, y1 + int(cut_h)), min(w, x1 + int(cut_w))
    out = img.copy()
    out[y1:y2, x1:x2, ...] = np.asarray(pad_val, dtype=img.dtype)
    return out
