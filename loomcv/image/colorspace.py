"""Colour-space conversions (cv2 codes by name, and the BT.601 YCbCr of Matlab/MMCV).

``rgb2ycbcr`` & co. differ from cv2's YCrCb (JPEG full range): they give the
studio-range Y in [16, 235] that super-resolution papers report PSNR on.
uint8 images stay uint8 (rounded); float32 images are taken and returned in [0, 1].
"""

import cv2
import numpy as np

from loomcv.errors import ConfigError

_CONVERSIONS = {
    ("bgr", "rgb"): cv2.COLOR_BGR2RGB, ("rgb", "bgr"): cv2.COLOR_RGB2BGR,
    ("bgr", "gray"): cv2.COLOR_BGR2GRAY, ("rgb", "gray"): cv2.COLOR_RGB2GRAY,
    ("gray", "bgr"): cv2.COLOR_GRAY2BGR, ("gray", "rgb"): cv2.COLOR_GRAY2RGB,
    ("bgr", "hsv"): cv2.COLOR_BGR2HSV, ("hsv", "bgr"): cv2.COLOR_HSV2BGR,
    ("rgb", "hsv"): cv2.COLOR_RGB2HSV, ("hsv", "rgb"): cv2.COLOR_HSV2RGB,
    ("bgr", "hls"): cv2.COLOR_BGR2HLS, ("hls", "bgr"): cv2.COLOR_HLS2BGR,
    ("rgb", "hls"): cv2.COLOR_RGB2HLS, ("hls", "rgb"): cv2.COLOR_HLS2RGB,
    ("bgr", "ycrcb"): cv2.COLOR_BGR2YCrCb, ("ycrcb", "bgr"): cv2.COLOR_YCrCb2BGR,
}


def imconvert(img: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert between colour spaces by name, e.g. ``imconvert(img, 'bgr', 'hsv')``."""
    code = _CONVERSIONS.get((src.lower(), dst.lower()))
    if code is None:
        raise ConfigError(f"imconvert: no conversion {src!r} -> {dst!r}; known: "
                          f"{', '.join(f'{a}->{b}' for a, b in _CONVERSIONS)}")
    return cv2.cvtColor(img, code)


def bgr2rgb(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def rgb2bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_RGB2BGR)


def bgr2gray(img: np.ndarray, keepdim: bool = False) -> np.ndarray:
    out = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return out[..., None] if keepdim else out


def rgb2gray(img: np.ndarray, keepdim: bool = False) -> np.ndarray:
    out = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return out[..., None] if keepdim else out


def gray2bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img[..., 0] if img.ndim == 3 else img, cv2.COLOR_GRAY2BGR)


def gray2rgb(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img[..., 0] if img.ndim == 3 else img, cv2.COLOR_GRAY2RGB)


def bgr2hsv(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2HSV)


def hsv2bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_HSV2BGR)


def bgr2hls(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2HLS)


def hls2bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_HLS2BGR)


# ITU-R BT.601 (studio range), per 0-1 input; rows are the input channels R, G, B.
_RGB_TO_YCBCR = np.array([[65.481, -37.797, 112.0], [128.553, -74.203, -93.786], [24.966, 112.0, -18.214]])
_YCBCR_OFFSET = np.array([16.0, 128.0, 128.0])
# its inverse, per 0-255 input; columns are the output channels R, G, B
_YCBCR_TO_RGB = np.array([[0.00456621, 0.00456621, 0.00456621], [0, -0.00153632, 0.00791071],
                          [0.00625893, -0.00318811, 0]])
_YCBCR_TO_RGB_OFFSET = np.array([-222.921, 135.576, -276.836])


def _to_unit_float(img: np.ndarray, owner: str) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 255.
    if img.dtype == np.float32:
        return img.astype(np.float32)
    raise TypeError(f"{owner}: the image must be uint8 (0-255) or float32 (0-1), got {img.dtype}")


def _from_255(img: np.ndarray, dtype) -> np.ndarray:
    if dtype == np.uint8:
        return img.round().astype(np.uint8)
    return (img / 255.).astype(np.float32)


def _to_ycbcr(img: np.ndarray, y_only: bool, rgb_order: bool, owner: str) -> np.ndarray:
    unit = _to_unit_float(img, owner)
    matrix = _RGB_TO_YCBCR if rgb_order else _RGB_TO_YCBCR[::-1]
    out = unit @ matrix[:, 0] + _YCBCR_OFFSET[0] if y_only else unit @ matrix + _YCBCR_OFFSET
    return _from_255(out, img.dtype)


def _from_ycbcr(img: np.ndarray, rgb_order: bool, owner: str) -> np.ndarray:
    full = _to_unit_float(img, owner) * 255
    matrix, offset = _YCBCR_TO_RGB, _YCBCR_TO_RGB_OFFSET
    if not rgb_order:
        matrix, offset = matrix[:, ::-1], offset[::-1]
    return _from_255(full @ matrix * 255.0 + offset, img.dtype)


def rgb2ycbcr(img: np.ndarray, y_only: bool = False) -> np.ndarray:
    """RGB -> YCbCr (BT.601, as Matlab's ``rgb2ycbcr``); ``y_only`` gives the HxW luma."""
    return _to_ycbcr(img, y_only, True, "rgb2ycbcr")


def bgr2ycbcr(img: np.ndarray, y_only: bool = False) -> np.ndarray:
    """:func:`rgb2ycbcr` for a BGR image."""
    return _to_ycbcr(img, y_only, False, "bgr2ycbcr")


def ycbcr2rgb(img: np.ndarray) -> np.ndarray:
    """YCbCr (BT.601) -> RGB, as Matlab's ``ycbcr2rgb``."""
    return _from_ycbcr(img, True, "ycbcr2rgb")


def ycbcr2bgr(img: np.ndarray) -> np.ndarray:
    """:func:`ycbcr2rgb` giving BGR."""
    return _from_ycbcr(img, False, "ycbcr2bgr")
