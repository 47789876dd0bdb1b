"""Photometric operations on uint8 (or float) numpy images: colour, contrast, histogram tricks.

Blending ops follow Pillow's ImageEnhance semantics: ``factor=1`` returns the
image, ``0`` its degenerate version (black, grey mean, greyscale, blurred).
"""

from typing import Optional, Sequence, Union

import cv2
import numpy as np

from loomcv.errors import ConfigError
from loomcv.validation import check


# ------------------------------------------------------------------ colour spaces
_CONVERSIONS = {
    ("bgr", "rgb"): cv2.COLOR_BGR2RGB, ("rgb", "bgr"): cv2.COLOR_RGB2BGR,
    ("bgr", "gray"): cv2.COLOR_BGR2GRAY, ("rgb", "gray"): cv2.COLOR_RGB2GRAY,
    ("gray", "bgr"): cv2.COLOR_GRAY2BGR, ("gray", "rgb"): cv2.COLOR_GRAY2RGB,
    ("bgr", "hsv"): cv2.COLOR_BGR2HSV, ("hsv", "bgr"): cv2.COLOR_HSV2BGR,
    ("rgb", "hsv"): cv2.COLOR_RGB2HSV, ("hsv", "rgb"): cv2.COLOR_HSV2RGB,
    ("bgr", "hls"): cv2.COLOR_BGR2HLS, ("hls", "bgr"): cv2.COLOR_HLS2BGR,
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


# ------------------------------------------------------------------ normalization
def imnormalize(img: np.ndarray, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True) -> np.ndarray:
    """``(img - mean) / std`` as float32 (a new array), optionally BGR -> RGB first."""
    out = img.astype(np.float32)
    return imnormalize_(out, mean, std, to_rgb)


def imnormalize_(img: np.ndarray, mean: Sequence[float], std: Sequence[float], to_rgb: bool = True) -> np.ndarray:
    """In-place :func:`imnormalize` on a float array."""
    if img.dtype == np.uint8:
        raise TypeError("imnormalize_ works in place and needs a float image, got uint8")
    mean = np.asarray(mean, dtype=np.float64).reshape(1, -1)
    stdinv = 1 / np.asarray(std, dtype=np.float64).reshape(1, -1)
    if to_rgb:
        cv2.cvtColor(img, cv2.COLOR_BGR2RGB, img)
    cv2.subtract(img, mean, img)
    cv2.multiply(img, stdinv, img)
    return img


def imdenormalize(img: np.ndarray, mean: Sequence[float], std: Sequence[float], to_bgr: bool = True) -> np.ndarray:
    out = img * np.asarray(std, np.float32).reshape(1, -1) + np.asarray(mean, np.float32).reshape(1, -1)
    return cv2.cvtColor(out.astype(np.float32), cv2.COLOR_RGB2BGR) if to_bgr else out


# ------------------------------------------------------------------ blends
def _blend(img: np.ndarray, degenerate: Union[np.ndarray, float], factor: float) -> np.ndarray:
    """``img * factor + degenerate * (1 - factor)``, clipped to the uint8 range, in img's dtype."""
    out = img.astype(np.float32) * factor + np.asarray(degenerate, np.float32) * (1 - factor)
    return np.clip(out, 0, 255).astype(img.dtype)


def adjust_brightness(img: np.ndarray, factor: float = 1.0) -> np.ndarray:
    return _blend(img, 0.0, factor)


def adjust_color(img: np.ndarray, alpha: float = 1.0, beta: Optional[float] = None, gamma: float = 0) -> np.ndarray:
    """Saturation: blend with the greyscale image (``alpha=0`` -> grey)."""
    beta = 1 - alpha if beta is None else beta
    gray = gray2bgr(bgr2gray(img)).astype(np.float32)
    out = img.astype(np.float32) * alpha + gray * beta + gamma
    return np.clip(out, 0, 255).astype(img.dtype)


def adjust_contrast(img: np.ndarray, factor: float = 1.0) -> np.ndarray:
    """Blend with a flat image at the mean grey level."""
    gray = bgr2gray(img) if img.ndim == 3 else img
    hist = np.histogram(gray, 256, (0, 255))[0]
    mean = round(np.sum(gray) / np.sum(hist))
    return _blend(img, float(mean), factor)


def adjust_sharpness(img: np.ndarray, factor: float = 1.0, kernel: Optional[np.ndarray] = None) -> np.ndarray:
    """Blend with a smoothed copy (factor > 1 sharpens, < 1 blurs)."""
    if kernel is None:
        kernel = np.array([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]]) / 13
    if not (isinstance(kernel, np.ndarray) and kernel.ndim == 2):
        raise ConfigError("adjust_sharpness: kernel must be a 2-D ndarray")
    return _blend(img, cv2.filter2D(img, -1, kernel), factor)


def adjust_hue(img: np.ndarray, hue_factor: float) -> np.ndarray:
    """Rotate hue by ``hue_factor`` of a full turn, in [-0.5, 0.5] (BGR uint8 image)."""
    check(-0.5 <= hue_factor <= 0.5, "adjust_hue", f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = (hsv[..., 0].astype(np.int16) + int(round(hue_factor * 255))) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def adjust_lighting(img: np.ndarray, eigval: np.ndarray, eigvec: np.ndarray, alphastd: float = 0.1,
                    to_rgb: bool = True) -> np.ndarray:
    """AlexNet-style PCA lighting noise: add ``eigvec @ (alpha * eigval)`` per pixel."""
    eigval, eigvec = np.asarray(eigval, np.float32), np.asarray(eigvec, np.float32)
    if eigval.ndim != 1 or eigvec.shape != (3, eigval.shape[0]):
        raise ConfigError(f"adjust_lighting: eigvec must be (3, {eigval.shape[0]}), got {eigvec.shape}")
    out = img.astype(np.float32)
    if to_rgb:
        cv2.cvtColor(out, cv2.COLOR_BGR2RGB, out)
    alpha = np.random.normal(0, alphastd, eigval.shape[0])
    return out + (eigvec @ (alpha * eigval)).astype(np.float32).reshape(1, 1, 3)


# ------------------------------------------------------------------ histogram and bit tricks
def iminvert(img: np.ndarray) -> np.ndarray:
    return np.full_like(img, 255) - img


def solarize(img: np.ndarray, thr: float = 128) -> np.ndarray:
    """Invert the pixels at or above ``thr``."""
    return np.where(img < thr, img, 255 - img)


def posterize(img: np.ndarray, bits: int) -> np.ndarray:
    """Keep the top ``bits`` bits of each value."""
    check(0 <= bits <= 8, "posterize", f"bits must be in [0, 8], got {bits}")
    shift = 8 - int(bits)
    return np.left_shift(np.right_shift(img, shift), shift)


def _equalize_channel(channel: np.ndarray) -> np.ndarray:
    hist = np.histogram(channel, 256, (0, 255))[0]
    nonzero = hist[hist > 0]
    step = (np.sum(nonzero) - nonzero[-1]) // 255 if nonzero.size else 0
    if not step:
        return channel
    lut = (np.cumsum(hist) + step // 2) // step
    lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255).astype(np.uint8)
    return lut[channel]


def equalize(img: np.ndarray) -> np.ndarray:
    """Histogram equalization per channel (Pillow's ImageOps.equalize rule)."""
    if img.ndim == 2:
        return _equalize_channel(img)
    return np.stack([_equalize_channel(img[..., c]) for c in range(img.shape[2])], axis=-1).astype(img.dtype)


def _auto_contrast_channel(channel: np.ndarray, cutoff: tuple) -> np.ndarray:
    hist = np.histogram(channel, 256, (0, 255))[0]
    cum = np.cumsum(hist)
    total = cum[-1]
    low, high = total * cutoff[0] // 100, total - total * cutoff[1] // 100
    hist = np.clip(cum, low, high) - np.concatenate([[low], np.clip(cum, low, high)[:-1]])
    nonzero = np.nonzero(hist)[0]
    lo, hi = (nonzero[0], nonzero[-1]) if nonzero.size else (0, 255)
    if hi <= lo:
        return channel
    scale = 255.0 / (hi - lo)
    lut = np.clip(np.arange(256) * scale - lo * scale, 0, 255).astype(np.uint8)
    return lut[channel]


def auto_contrast(img: np.ndarray, cutoff: Union[float, tuple] = 0) -> np.ndarray:
    """Stretch each channel so its darkest value becomes 0 and brightest 255.

    ``cutoff`` percent of the histogram (low, high) is ignored at each end.
    """
    cutoff = (cutoff, cutoff) if isinstance(cutoff, (int, float)) else tuple(cutoff)
    if img.ndim == 2:
        return _auto_contrast_channel(img, cutoff)
    return np.stack([_auto_contrast_channel(img[..., c], cutoff) for c in range(img.shape[2])],
                    axis=-1).astype(img.dtype)

