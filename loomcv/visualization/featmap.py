"""Feature maps as heat maps: one reduced map over the image, or a grid of
the strongest channels.

The colors come from OpenCV's JET color map after a min-max stretch to
0-255, and resizing uses torch's bilinear interpolation, as MMEngine does,
so the same feature map gives the same picture. torch, OpenCV and matplotlib
are imported only when a feature map is drawn.
"""

import warnings
from typing import Any, Optional, Tuple

import numpy as np

_REDUCTIONS = ("squeeze_mean", "select_max")


def convert_overlay_heatmap(feat_map: Any, img: Optional[np.ndarray] = None, alpha: float = 0.5) -> np.ndarray:
    """An RGB heat map of ``feat_map`` (HxW, 1xHxW or 3xHxW), blended over ``img`` if given."""
    import cv2
    if hasattr(feat_map, "detach"):
        feat_map = feat_map.detach().cpu().numpy()
    feat_map = np.asarray(feat_map)
    if not (feat_map.ndim == 2 or (feat_map.ndim == 3 and feat_map.shape[0] in (1, 3))):
        raise ValueError(f"convert_overlay_heatmap takes an HxW, 1xHxW or 3xHxW map, got shape {feat_map.shape}")
    if feat_map.ndim == 3:
        feat_map = feat_map.transpose(1, 2, 0)
    stretched = cv2.normalize(feat_map.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX)
    heat = cv2.applyColorMap(np.asarray(stretched, dtype=np.uint8), cv2.COLORMAP_JET)
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB)
    if img is not None:
        heat = cv2.addWeighted(img, 1 - alpha, heat, alpha, 0)
    return heat


def _as_rgb(image: Any) -> np.ndarray:
    import cv2
    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"Visualizer.draw_featmap: overlaid_image must be a uint8 RGB image, got dtype {image.dtype}")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"Visualizer.draw_featmap: overlaid_image must be HxW or HxWx3, got shape {image.shape}")
    return image


def draw_featmap(featmap: Any, overlaid_image: Optional[np.ndarray] = None,
                 channel_reduction: Optional[str] = "squeeze_mean", topk: int = 20,
                 arrangement: Tuple[int, int] = (4, 5), resize_shape: Optional[tuple] = None,
                 alpha: float = 0.5) -> np.ndarray:
    """The body of ``Visualizer.draw_featmap`` (see there)."""
    import cv2
    import torch
    import torch.nn.functional as F

    if isinstance(featmap, np.ndarray):
        featmap = torch.from_numpy(featmap)
    if not isinstance(featmap, torch.Tensor):
        raise TypeError(f"Visualizer.draw_featmap: featmap must be a CxHxW torch.Tensor (or numpy array), "
                        f"got {type(featmap).__name__}")
    if featmap.ndim != 3:
        raise ValueError(f"Visualizer.draw_featmap: featmap must be CxHxW (3 dims), got shape "
                         f"{tuple(featmap.shape)}")
    if channel_reduction is not None and channel_reduction not in _REDUCTIONS:
        raise ValueError(f"Visualizer.draw_featmap: channel_reduction must be one of {_REDUCTIONS} or None, "
                         f"got {channel_reduction!r}")
    if not 0 <= alpha <= 1:
        raise ValueError(f"Visualizer.draw_featmap: alpha must lie in [0, 1], got {alpha}")
    featmap = featmap.detach().cpu().float()

    if overlaid_image is not None:
        overlaid_image = _as_rgb(overlaid_image)
        if overlaid_image.shape[:2] != tuple(featmap.shape[1:]):
            fh, fw = featmap.shape[1:]
            ih, iw = overlaid_image.shape[:2]
            warnings.warn(f"Visualizer.draw_featmap: the feature map ({fh}x{fw}) and overlaid_image "
                          f"({ih}x{iw}) differ in size; the feature map is resized", UserWarning, stacklevel=3)
            if resize_shape is None:
                featmap = F.interpolate(featmap[None], overlaid_image.shape[:2], mode="bilinear",
                                        align_corners=False)[0]
    if resize_shape is not None:
        resize_shape = tuple(int(s) for s in resize_shape)
        if len(resize_shape) != 2:
            raise ValueError(f"Visualizer.draw_featmap: resize_shape is (height, width), got {resize_shape}")
        featmap = F.interpolate(featmap[None], resize_shape, mode="bilinear", align_corners=False)[0]
        if overlaid_image is not None:
            overlaid_image = cv2.resize(overlaid_image, resize_shape[::-1])

    if channel_reduction == "select_max":
        strongest = torch.topk(featmap.sum(dim=(1, 2)), 1).indices
        return convert_overlay_heatmap(featmap[strongest], overlaid_image, alpha)
    if channel_reduction == "squeeze_mean":
        return convert_overlay_heatmap(featmap.mean(dim=0), overlaid_image, alpha)
    if topk <= 0:
        if featmap.shape[0] not in (1, 3):
            raise ValueError(f"Visualizer.draw_featmap: with channel_reduction=None and topk <= 0 the "
                             f"feature map is drawn as an image and must have 1 or 3 channels, got "
                             f"{featmap.shape[0]}; set channel_reduction or a topk > 0")
        return convert_overlay_heatmap(featmap, overlaid_image, alpha)
    return _topk_grid(featmap, overlaid_image, topk, arrangement, alpha)


def _topk_grid(featmap, overlaid_image, topk: int, arrangement: Tuple[int, int], alpha: float) -> np.ndarray:
    """The ``topk`` channels with the largest sums, one heat map per cell of a rows x cols grid."""
    import torch
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows, cols = (int(a) for a in arrangement)
    if rows * cols < topk:
        raise ValueError(f"Visualizer.draw_featmap: arrangement {tuple(arrangement)} has {rows * cols} cells, "
                         f"fewer than topk={topk}; use a larger arrangement or a smaller topk")
    channels, height, width = featmap.shape
    topk = min(channels, topk)
    indices = torch.topk(featmap.sum(dim=(1, 2)), topk).indices

    fig = Figure(frameon=False)
    canvas = FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1, wspace=0, hspace=0)
    dpi = fig.get_dpi()
    fig.set_size_inches((width * cols + 1e-2) / dpi, (height * rows + 1e-2) / dpi)
    for cell, index in enumerate(indices.tolist()):
        ax = fig.add_subplot(rows, cols, cell + 1)
        ax.axis("off")
        ax.text(2, 15, f"channel: {index}", fontsize=10)
        ax.imshow(convert_overlay_heatmap(featmap[index], overlaid_image, alpha))
    canvas.draw()
    return np.array(canvas.buffer_rgba())[..., :3]
