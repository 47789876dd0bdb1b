"""Photometric operations on uint8 (or float) numpy images: colour, contrast, histogram tricks.

Blending ops follow Pillow's ImageEnhance semantics: ``factor=1`` returns the
image, ``0`` its degenerate version (black, grey mean, greyscale, blurred).
"""

from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from loomcv.errors import ConfigError
from loomcv.validation import check

from .backend import resolve_backend
from .colorspace import bgr2gray, gray2bgr


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
    """``img * std + mean`` (a new float array), optionally RGB -> BGR after."""
    if img.dtype == np.uint8:
        raise TypeError("imdenormalize needs a float image (the output of imnormalize), got uint8")
    mean = np.asarray(mean, dtype=np.float64).reshape(1, -1)
    std = np.asarray(std, dtype=np.float64).reshape(1, -1)
    out = cv2.multiply(img, std)
    cv2.add(out, mean, out)
    if to_bgr:
        cv2.cvtColor(out, cv2.COLOR_RGB2BGR, out)
    return out


# ------------------------------------------------------------------ blends
def _check_backend_input(img, owner: str, backend: str) -> None:
    if not isinstance(img, np.ndarray):
        raise TypeError(f"{owner}: img must be a numpy array (HxW or HxWxC), got {type(img).__name__}; "
                        f"convert a PIL image with np.asarray(pil_image)")
    if backend == "pillow" and (img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3):
        raise TypeError(f"{owner}: the pillow backend takes HxWx3 uint8 BGR images, got {img.dtype} "
                        f"of shape {img.shape}")


def _pillow_enhance(img: np.ndarray, enhancer: str, factor: float) -> np.ndarray:
    """Pillow's ImageEnhance on a BGR uint8 image (Pillow works in RGB)."""
    from PIL import Image, ImageEnhance
    pil = Image.fromarray(np.ascontiguousarray(img[..., ::-1]))
    out = getattr(ImageEnhance, enhancer)(pil).enhance(factor)
    return np.ascontiguousarray(np.asarray(out, dtype=img.dtype)[..., ::-1])


def _blend(img: np.ndarray, degenerate: np.ndarray, factor: float) -> np.ndarray:
    """``img * factor + degenerate * (1 - factor)`` in float32 (cv2.addWeighted), clipped
    to 0-255 and cast back (truncating) to img's dtype, as MMCV does."""
    out = cv2.addWeighted(img.astype(np.float32), factor, degenerate.astype(np.float32), 1 - factor, 0)
    return np.clip(out, 0, 255).astype(img.dtype)


def adjust_brightness(img: np.ndarray, factor: float = 1.0, backend: Optional[str] = None) -> np.ndarray:
    """Blend with black: 0 gives black, 1 the image (Pillow's ImageEnhance.Brightness)."""
    backend = resolve_backend(backend, "adjust_brightness")
    _check_backend_input(img, "adjust_brightness", backend)
    if backend == "pillow":
        return _pillow_enhance(img, "Brightness", factor)
    return _blend(img, np.zeros_like(img), factor)


def adjust_color(img: np.ndarray, alpha: float = 1.0, beta: Optional[float] = None, gamma: float = 0,
                 backend: Optional[str] = None) -> np.ndarray:
    """Saturation: ``img * alpha + gray * beta + gamma`` (``beta`` defaults to ``1 - alpha``).

    uint8 images are blended by cv2 in the image's type (rounded and saturated);
    the pillow backend is ImageEnhance.Color(alpha) and ignores beta and gamma.
    """
    backend = resolve_backend(backend, "adjust_color")
    _check_backend_input(img, "adjust_color", backend)
    if backend == "pillow":
        return _pillow_enhance(img, "Color", alpha)
    beta = 1 - alpha if beta is None else beta
    gray = np.tile(bgr2gray(img)[..., None], [1, 1, 3])
    out = cv2.addWeighted(img, alpha, gray, beta, gamma)
    if out.dtype != np.uint8:  # cv2 saturates uint8 itself; other types can leave 0-255
        out = np.clip(out, 0, 255)
    return out.astype(img.dtype)


def adjust_contrast(img: np.ndarray, factor: float = 1.0, backend: Optional[str] = None) -> np.ndarray:
    """Blend with a flat image at the mean grey level (Pillow's ImageEnhance.Contrast)."""
    backend = resolve_backend(backend, "adjust_contrast")
    _check_backend_input(img, "adjust_contrast", backend)
    if backend == "pillow":
        return _pillow_enhance(img, "Contrast", factor)
    gray = bgr2gray(img) if img.ndim == 3 else img
    hist = np.histogram(gray, 256, (0, 255))[0]
    mean = round(np.sum(gray) / np.sum(hist))
    flat = (np.ones_like(gray) * mean).astype(img.dtype)
    return _blend(img, gray2bgr(flat) if img.ndim == 3 else flat, factor)


def adjust_sharpness(img: np.ndarray, factor: float = 1.0, kernel: Optional[np.ndarray] = None) -> np.ndarray:
    """Blend with a smoothed copy (factor > 1 sharpens, < 1 blurs)."""
    if kernel is None:
        kernel = np.array([[1., 1., 1.], [1., 5., 1.], [1., 1., 1.]]) / 13
    if not (isinstance(kernel, np.ndarray) and kernel.ndim == 2):
        raise ConfigError("adjust_sharpness: kernel must be a 2-D ndarray")
    return _blend(img, cv2.filter2D(img, -1, kernel), factor)


def adjust_hue(img: np.ndarray, hue_factor: float, backend: Optional[str] = None) -> np.ndarray:
    """Rotate the hue of a BGR image by ``hue_factor`` of a full turn, in [-0.5, 0.5].

    The shift is ``hue_factor * 255`` truncated and wrapped on the 0-255 hue
    circle, as MMCV does; the pillow backend is MMCV's pixel for pixel. MMCV's
    cv2 path converts BGR images with cv2's *RGB* code (turning the hue the other
    way than its pillow path); loomcv's cv2 path uses the BGR code, so both
    backends turn the same way.
    """
    check(-0.5 <= hue_factor <= 0.5, "adjust_hue", f"hue_factor must be in [-0.5, 0.5], got {hue_factor}")
    backend = resolve_backend(backend, "adjust_hue")
    _check_backend_input(img, "adjust_hue", backend)
    if img.ndim != 3 or img.shape[2] != 3:
        raise TypeError(f"adjust_hue: img must be a HxWx3 BGR image, got shape {img.shape}")
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == "pillow":
        from PIL import Image
        h, s, v = Image.fromarray(np.ascontiguousarray(img[..., ::-1])).convert("HSV").split()
        hue = np.array(h, dtype=np.uint8)
        hue += shift  # uint8 wrap-around is the rotation
        out = Image.merge("HSV", (Image.fromarray(hue, "L"), s, v)).convert("RGB")
        return np.ascontiguousarray(np.asarray(out, dtype=img.dtype)[..., ::-1])
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def adjust_lighting(img: np.ndarray, eigval: np.ndarray, eigvec: np.ndarray, alphastd: float = 0.1,
                    to_rgb: bool = True) -> np.ndarray:
    """AlexNet-style PCA lighting noise: add ``eigvec @ (alpha * eigval)`` to every pixel.

    ``eigval`` has one value per eigenvector (shape (K,)); ``eigvec`` is 3xK.
    """
    eigval, eigvec = np.asarray(eigval, np.float64), np.asarray(eigvec, np.float64)
    if eigval.ndim != 1:
        raise ConfigError(f"adjust_lighting: eigval must be a 1-D array of eigenvalues, got shape {eigval.shape} "
                          f"(a scalar? give a list such as [55.46, 4.79, 1.15])")
    if eigvec.shape != (3, eigval.shape[0]):
        raise ConfigError(f"adjust_lighting: eigvec must be (3, {eigval.shape[0]}) for {eigval.shape[0]} "
                          f"eigenvalues, got {eigvec.shape}")
    out = img.astype(np.float32)
    if to_rgb:
        cv2.cvtColor(out, cv2.COLOR_BGR2RGB, out)
    alpha = np.random.normal(0, alphastd, eigval.shape[0])
    return out + (eigvec @ (alpha * eigval)).astype(np.float32).reshape(1, 1, 3)


def lut_transform(img: np.ndarray, lut_table: np.ndarray) -> np.ndarray:
    """Map every value through the 256-entry table ``lut_table`` (cv2.LUT)."""
    check(isinstance(img, np.ndarray) and img.size and 0 <= img.min() and img.max() <= 255, "lut_transform",
          "img must be a non-empty array with values in 0-255", TypeError)
    check(isinstance(lut_table, np.ndarray) and lut_table.shape == (256,), "lut_transform",
          f"lut_table must be an ndarray of shape (256,), got {getattr(lut_table, 'shape', type(lut_table))}")
    return cv2.LUT(np.array(img, dtype=np.uint8), lut_table)


def clahe(img: np.ndarray, clip_limit: float = 40.0, tile_grid_size: Tuple[int, int] = (8, 8)) -> np.ndarray:
    """Contrast-limited adaptive histogram equalization of a single-channel image (cv2.createCLAHE)."""
    check(isinstance(img, np.ndarray) and img.ndim == 2, "clahe",
          f"img must be a 2-D (single-channel) array, got shape {getattr(img, 'shape', type(img))}")
    check(isinstance(clip_limit, (int, float)), "clahe", f"clip_limit must be a number, got {clip_limit!r}")
    check(isinstance(tile_grid_size, tuple) and len(tile_grid_size) == 2
          and all(isinstance(t, int) for t in tile_grid_size), "clahe",
          f"tile_grid_size must be a tuple of 2 ints, got {tile_grid_size!r}")
    return cv2.createCLAHE(clip_limit, tile_grid_size).apply(np.array(img, dtype=np.uint8))


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


def imequalize(img: np.ndarray) -> np.ndarray:
    """Histogram equalization per channel (Pillow's ImageOps.equalize rule)."""
    if img.ndim == 2:
        return _equalize_channel(img)
    return np.stack([_equalize_channel(img[..., c]) for c in range(img.shape[2])], axis=-1).astype(img.dtype)


#: the older loomcv name of :func:`imequalize`
equalize = imequalize


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

