"""Optical flow files and pictures (MMCV's formats).

A flow is a float32 HxWx2 array of (dx, dy) per pixel. It is stored either
as a Middlebury ``.flo`` file (the tag ``PIEH``, width and height as int32,
then the raw float32 values) or quantized into one 8-bit grey image holding
dx and dy side by side or stacked: each component divided by the image width
(dx) or height (dy), clipped to ``[-max_val, max_val]`` and mapped to 0..255.
"""

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import imread, imwrite

_FLO_TAG = b"PIEH"


def _check_flow(flow: np.ndarray, owner: str) -> np.ndarray:
    flow = np.asarray(flow)
    if flow.ndim != 3 or flow.shape[-1] != 2:
        raise ValueError(f"{owner}: a flow must be an HxWx2 array, got shape {flow.shape}")
    return flow


def quantize(arr: np.ndarray, min_val: float, max_val: float, levels: int, dtype=np.int64) -> np.ndarray:
    """Map ``[min_val, max_val]`` onto the integers ``0 .. levels-1`` (values outside are clipped)."""
    if not isinstance(levels, int) or levels <= 1:
        raise ValueError(f"quantize: levels must be an int > 1, got {levels!r}")
    if min_val >= max_val:
        raise ValueError(f"quantize: min_val ({min_val}) must be smaller than max_val ({max_val})")
    shifted = np.clip(arr, min_val, max_val) - min_val
    return np.minimum(np.floor(levels * shifted / (max_val - min_val)).astype(dtype), levels - 1)


def dequantize(arr: np.ndarray, min_val: float, max_val: float, levels: int, dtype=np.float64) -> np.ndarray:
    """The centre of each quantization bin: the inverse of :func:`quantize` up to half a bin."""
    if not isinstance(levels, int) or levels <= 1:
        raise ValueError(f"dequantize: levels must be an int > 1, got {levels!r}")
    if min_val >= max_val:
        raise ValueError(f"dequantize: min_val ({min_val}) must be smaller than max_val ({max_val})")
    return (arr + 0.5).astype(dtype) * (max_val - min_val) / levels + min_val


def quantize_flow(flow: np.ndarray, max_val: float = 0.02, norm: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """(dx, dy) as uint8 HxW images; with ``norm`` dx is divided by the width and dy by the height first."""
    flow = _check_flow(flow, "quantize_flow")
    height, width = flow.shape[:2]
    dx, dy = flow[..., 0], flow[..., 1]
    if norm:
        dx, dy = dx / width, dy / height
    return tuple(quantize(d, -max_val, max_val, 255, np.uint8) for d in (dx, dy))


def dequantize_flow(dx: np.ndarray, dy: np.ndarray, max_val: float = 0.02, denorm: bool = True) -> np.ndarray:
    """The HxWx2 float flow back from the images of :func:`quantize_flow`."""
    if dx.shape != dy.shape:
        raise ValueError(f"dequantize_flow: dx {dx.shape} and dy {dy.shape} must have one shape")
    if not (dx.ndim == 2 or (dx.ndim == 3 and dx.shape[-1] == 1)):
        raise ValueError(f"dequantize_flow: dx and dy must be HxW (or HxWx1), got {dx.shape}")
    dx, dy = (dequantize(d, -max_val, max_val, 255) for d in (dx, dy))
    if denorm:
        dx = dx * dx.shape[1]
        dy = dy * dx.shape[0]
    return np.dstack((dx, dy)).astype(np.float32)


def flowread(flow_or_path: Union[np.ndarray, str], quantize: bool = False, concat_axis: int = 0,
             *args, **kwargs) -> np.ndarray:
    """An HxWx2 float32 flow from a ``.flo`` file, a quantized image (``quantize=True``: dx and dy
    joined along ``concat_axis``; ``args``/``kwargs`` go to :func:`dequantize_flow`) or an array."""
    if isinstance(flow_or_path, np.ndarray):
        return _check_flow(flow_or_path, "flowread")
    if not isinstance(flow_or_path, str):
        raise TypeError(f"flowread takes a file path or an HxWx2 array, got {type(flow_or_path).__name__}")
    if not quantize:
        with open(flow_or_path, "rb") as f:
            tag = f.read(4)
            if tag != _FLO_TAG:
                raise ValueError(f"flowread: {flow_or_path!r} is not a .flo file (it starts with {tag!r}, "
                                 f"not {_FLO_TAG!r}); for a quantized flow image pass quantize=True")
            width, height = (int(v) for v in np.fromfile(f, np.int32, 2))
            flow = np.fromfile(f, np.float32, width * height * 2)
        if flow.size != width * height * 2:
            raise ValueError(f"flowread: {flow_or_path!r} is truncated ({flow.size} values for "
                             f"{width}x{height}x2)")
        return flow.reshape(height, width, 2)
    if concat_axis not in (0, 1):
        raise ValueError(f"flowread: concat_axis must be 0 (dx above dy) or 1 (side by side), got {concat_axis}")
    joined = imread(flow_or_path, flag="unchanged")
    if joined.ndim != 2:
        raise ValueError(f"flowread: {flow_or_path!r} must be a single-channel image, got shape {joined.shape}")
    if joined.shape[concat_axis] % 2:
        raise ValueError(f"flowread: {flow_or_path!r} has an odd size along axis {concat_axis}; it cannot hold "
                         f"dx and dy halves")
    dx, dy = np.split(joined, 2, axis=concat_axis)
    return dequantize_flow(dx, dy, *args, **kwargs)


def flowwrite(flow: np.ndarray, filename: str, quantize: bool = False, concat_axis: int = 0,
              *args, **kwargs) -> None:
    """Write a flow as ``.flo`` or (``quantize=True``) as one lossless grey image of dx and dy joined
    along ``concat_axis`` (use ``.png``: a JPEG would change the values)."""
    flow = _check_flow(flow, "flowwrite")
    if not quantize:
        height, width = flow.shape[:2]
        with open(filename, "wb") as f:
            f.write(_FLO_TAG)
            np.array([width, height], dtype=np.int32).tofile(f)
            flow.astype(np.float32).tofile(f)
        return
    if concat_axis not in (0, 1):
        raise ValueError(f"flowwrite: concat_axis must be 0 (dx above dy) or 1 (side by side), got {concat_axis}")
    dx, dy = quantize_flow(flow, *args, **kwargs)
    imwrite(np.concatenate((dx, dy), axis=concat_axis), filename)


def make_color_wheel(bins: Optional[Sequence[int]] = None) -> np.ndarray:
    """The Middlebury flow color wheel: (sum(bins), 3) RGB colors in [0, 1] going red, yellow,
    green, cyan, blue, magenta and back; ``bins`` is the number of steps of each of the six ramps."""
    bins = [15, 6, 4, 11, 13, 6] if bins is None else list(bins)
    if len(bins) != 6 or any(not isinstance(b, int) or b < 1 for b in bins):
        raise ValueError(f"make_color_wheel: bins must be six positive ints, got {bins}")
    # each ramp: (channel that rises or falls, rising?, the two channels held fixed and their values)
    ramps = [((1, True), (0, 1.0), (2, 0.0)), ((0, False), (1, 1.0), (2, 0.0)),
             ((2, True), (0, 0.0), (1, 1.0)), ((1, False), (0, 0.0), (2, 1.0)),
             ((0, True), (1, 0.0), (2, 1.0)), ((2, False), (0, 1.0), (1, 0.0))]
    parts = []
    for count, ((moving, rising), *fixed) in zip(bins, ramps):
        part = np.zeros((count, 3), np.float32)
        steps = np.arange(count, dtype=np.float32) / count
        part[:, moving] = steps if rising else 1 - steps
        for channel, value in fixed:
            part[:, channel] = value
        parts.append(part)
    return np.concatenate(parts)


def flow2rgb(flow: np.ndarray, color_wheel: Optional[np.ndarray] = None, unknown_thr: float = 1e6) -> np.ndarray:
    """A float32 HxWx3 RGB picture in [0, 1] of a flow: hue is the direction, saturation the
    length relative to the longest vector; NaN or larger-than-``unknown_thr`` vectors are black."""
    flow = _check_flow(flow, "flow2rgb")
    wheel = make_color_wheel() if color_wheel is None else np.asarray(color_wheel, np.float32)
    if wheel.ndim != 2 or wheel.shape[1] != 3:
        raise ValueError(f"flow2rgb: color_wheel must be (N, 3), got shape {wheel.shape}")
    num_bins = wheel.shape[0]
    dx = flow[..., 0].astype(np.float64)
    dy = flow[..., 1].astype(np.float64)
    unknown = np.isnan(dx) | np.isnan(dy) | (np.abs(dx) > unknown_thr) | (np.abs(dy) > unknown_thr)
    dx[unknown] = 0
    dy[unknown] = 0
    radius = np.hypot(dx, dy)
    if np.any(radius > np.finfo(float).eps):
        longest = radius.max()
        dx, dy = dx / longest, dy / longest
    radius = np.hypot(dx, dy)
    angle = np.arctan2(-dy, -dx) / np.pi
    position = (angle + 1) / 2 * (num_bins - 1)
    left = np.floor(position).astype(int)
    right = (left + 1) % num_bins
    weight = (position - left)[..., None]
    image = (1 - weight) * wheel[left] + weight * wheel[right]
    short = radius <= 1
    image[short] = 1 - radius[short, None] * (1 - image[short])
    image[~short] *= 0.75
    image[unknown] = 0
    return image.astype(np.float32)
