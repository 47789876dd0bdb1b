"""Visualizer: draws on an image and sends images, scalars and the config to
every configured vis backend.

Built by the runner from ``visualizer=dict(type='Visualizer', vis_backends=[...])``
with ``save_dir`` set to the run's log folder; backends write under
``<save_dir>/vis_data``. Hooks find it again with ``Visualizer.get_current_instance()``.

Drawing follows MMEngine's API: ``set_image``, then ``draw_*`` calls (chainable),
then ``get_image`` for the RGB result. It renders with matplotlib's Agg canvas
(no window) sized so that one image pixel is one canvas pixel; matplotlib is
imported on the first drawing call, not when a Visualizer is built.
"""

import os.path as osp
import warnings
from numbers import Real
from collections import OrderedDict
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.logging import ManagerMixin
from loomcv.registry import VISBACKENDS, VISUALIZERS

from .backends import BaseVisBackend
from .colors import color_val_matplotlib, color_val_rgb255, colors_per_item
from .display import WindowShower
from .featmap import draw_featmap as _draw_featmap


def _to_array(value: Any, owner: str, arg: str) -> np.ndarray:
    """A numpy array from an array, a tensor or a (nested) list of numbers."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{owner}: {arg} must be a numpy array or a torch tensor, got {type(value).__name__}")
    return value


def _numeric(value: Any, owner: str, arg: str) -> np.ndarray:
    array = _to_array(value, owner, arg)
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise TypeError(f"{owner}: {arg} must hold numbers, got dtype {array.dtype}")
    return array.astype(np.float64)


def _per_item(value: Any, single: Union[type, Tuple[type, ...]], count: int, owner: str, arg: str) -> list:
    """One value repeated ``count`` times, or the first ``count`` items of a list."""
    if isinstance(value, single) and not isinstance(value, bool):
        return [value] * count
    if isinstance(value, list):
        if len(value) < count:
            raise ValueError(f"{owner}: {arg} has {len(value)} items for {count} drawn items; give one "
                             f"value or at least one per item")
        for item in value[:count]:
            if not isinstance(item, single) or isinstance(item, bool):
                raise TypeError(f"{owner}: each item of {arg} must be {_type_names(single)}, got "
                                f"{type(item).__name__}: {item!r}")
        return list(value[:count])
    raise TypeError(f"{owner}: {arg} must be {_type_names(single)} or a list of those, got "
                    f"{type(value).__name__}: {value!r}")


def _type_names(types: Union[type, Tuple[type, ...]]) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join("a number" if t is Real else t.__name__ for t in types)


def _check_alpha(alpha: Any, owner: str, arg: str = "alpha") -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{owner}: {arg} must be a number in [0, 1], got {alpha!r}")
    return float(alpha)


def _rgb_image(image: Any, owner: str) -> np.ndarray:
    """An RGB uint8 HxWx3 array from HxW, HxWx1, HxWx3 or HxWx4 (alpha dropped)."""
    import cv2
    image = _to_array(image, owner, "image")
    if image.dtype != np.uint8:
        raise TypeError(f"{owner}: image must be uint8 RGB, got dtype {image.dtype} "
                        f"(convert with image.astype(np.uint8) after scaling to 0-255)")
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3])
    raise ValueError(f"{owner}: image must be HxW or HxWxC with C in (1, 3, 4), got shape {image.shape}")


@VISUALIZERS.register_module()
class Visualizer(ManagerMixin):
    """Args:
        name: instance name (``Visualizer.get_instance(name)``).
        image: an RGB uint8 image to start drawing on (``set_image``).
        vis_backends: a backend config, or a list of configs / backend objects.
            A config may carry ``name`` (default: its type) to tell two apart.
        save_dir: the log folder; backends write to ``<save_dir>/vis_data``.
            Without it, configured backends are dropped (nothing to write to).
        fig_save_cfg: keyword arguments of the matplotlib Figure drawn on.
        fig_show_cfg: keyword arguments of the Figure of the ``show`` window.
    """

    def __init__(self, name: str = "visualizer", image: Any = None,
                 vis_backends: Union[None, Mapping, BaseVisBackend, Sequence] = None,
                 save_dir: Optional[str] = None,
                 fig_save_cfg: Mapping = dict(frameon=False),   # noqa: B006 (MMEngine's default; never mutated)
                 fig_show_cfg: Mapping = dict(frameon=False)):  # noqa: B006
        super().__init__(name)
        for arg, value in (("fig_save_cfg", fig_save_cfg), ("fig_show_cfg", fig_show_cfg)):
            if not isinstance(value, Mapping):
                raise TypeError(f"Visualizer: {arg} must be a dict of matplotlib Figure arguments, "
                                f"got {type(value).__name__}")
        self.fig_save_cfg = dict(fig_save_cfg)
        self.fig_show_cfg = dict(fig_show_cfg)
        self._dataset_meta: Optional[dict] = None   # class names, palette, ... for drawing
        self._image: Optional[np.ndarray] = None
        self._canvas = None                          # (canvas, figure, axes), made on first drawing
        self._shower = WindowShower(self.fig_show_cfg)
        self._vis_backends: "OrderedDict[str, BaseVisBackend]" = OrderedDict()
        self._build_backends(vis_backends, save_dir)
        if image is not None:
            self.set_image(image)

    def _build_backends(self, vis_backends, save_dir) -> None:
        if vis_backends is None or save_dir is None:
            return
        if isinstance(vis_backends, (Mapping, BaseVisBackend)):
            vis_backends = [vis_backends]
        data_dir = osp.join(save_dir, "vis_data")
        for item in vis_backends:
            if isinstance(item, BaseVisBackend):
                backend, key = item, type(item).__name__
            elif isinstance(item, Mapping):
                cfg = dict(item)
                key = cfg.pop("name", None)
                backend = VISBACKENDS.build(cfg, default_args=dict(save_dir=data_dir))
                key = key or type(backend).__name__
            else:
                raise TypeError(f"Visualizer: each of vis_backends must be a dict config or a vis backend, "
                                f"got {type(item).__name__}: {item!r}")
            if key in self._vis_backends:
                raise ValueError(f"Visualizer: two vis backends are both named {key!r}; give them "
                                 f"different 'name' keys")
            self._vis_backends[key] = backend

    # -- backends ------------------------------------------------------------------------
    @property
    def vis_backends(self) -> "OrderedDict[str, BaseVisBackend]":
        return self._vis_backends

    def get_backend(self, name: str) -> Optional[BaseVisBackend]:
        """The backend called ``name`` (its config ``name`` or type), or None."""
        return self._vis_backends.get(name)

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Dataset facts a task visualizer draws with (``classes``, ``palette``)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, meta: Optional[dict]) -> None:
        self._dataset_meta = meta

    # -- the canvas ----------------------------------------------------------------------
    def _ensure_canvas(self):
        if self._canvas is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            figure = Figure(**self.fig_save_cfg)
            canvas = FigureCanvasAgg(figure)
            axes = figure.add_subplot()
            axes.axis(False)
            figure.subplots_adjust(left=0, right=1, bottom=0, top=1)
            self._canvas = (canvas, figure, axes)
        return self._canvas

    @property
    def fig_save_canvas(self):
        """The Agg canvas drawn on (made on first use)."""
        return self._ensure_canvas()[0]

    @property
    def fig_save(self):
        return self._ensure_canvas()[1]

    @property
    def ax_save(self):
        return self._ensure_canvas()[2]

    @property
    def dpi(self) -> float:
        return self.fig_save.get_dpi()

    def set_image(self, image: Any) -> None:
        """Start drawing on ``image`` (RGB uint8 HxWx3; HxW gray and HxWx4 are converted)."""
        image = _rgb_image(image, "Visualizer.set_image")
        self._image = image
        self.height, self.width = image.shape[:2]
        self._default_font_size = max(np.sqrt(self.height * self.width) // 90, 10)
        _, figure, axes = self._ensure_canvas()
        # a hair over the exact size, so rounding never drops the last pixel row or column
        figure.set_size_inches((self.width + 1e-2) / figure.get_dpi(), (self.height + 1e-2) / figure.get_dpi())
        axes.cla()
        axes.axis(False)
        self._show_pixels(image, "none")

    def _show_pixels(self, pixels: np.ndarray, interpolation: str) -> None:
        """Lay ``pixels`` over the whole axes and pin the view to the image, so that
        shapes drawn outside it are cut off instead of zooming the view out."""
        axes = self.ax_save
        axes.imshow(pixels, extent=(0, self.width, self.height, 0), interpolation=interpolation)
        axes.set_xlim(0, self.width)
        axes.set_ylim(self.height, 0)
        axes.set_autoscale_on(False)

    def get_image(self) -> np.ndarray:
        """What has been drawn, as an RGB uint8 array the size of the image set."""
        if self._image is None:
            raise RuntimeError("Visualizer has no image; call set_image(image) first")
        canvas = self.fig_save_canvas
        canvas.draw()
        drawn = np.array(canvas.buffer_rgba())[..., :3]
        if drawn.shape[:2] != (self.height, self.width):   # guards odd dpi settings in fig_save_cfg
            import cv2
            drawn = cv2.resize(drawn, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return drawn

    def _require_image(self, owner: str) -> None:
        if self._image is None:
            raise RuntimeError(f"{owner}: no image to draw on; call set_image(image) first")

    def _warn_outside(self, points: np.ndarray, owner: str, what: str) -> None:
        points = points.reshape(-1, 2)
        inside = ((points[:, 0] >= 0) & (points[:, 0] <= self.width)
                  & (points[:, 1] >= 0) & (points[:, 1] <= self.height))
        if not inside.all():
            warnings.warn(f"{owner}: some {what} lie outside the {self.width}x{self.height} image; "
                          f"the parts outside are cut off", UserWarning, stacklevel=3)

    def _line_widths(self, line_widths: Any, count: int, owner: str) -> List[float]:
        """Widths in points, kept between 1 and a quarter of the default font size (as MMEngine)."""
        widths = _per_item(line_widths, Real, count, owner, "line_widths")
        return [min(max(w, 1), self._default_font_size / 4) for w in widths]

    # -- drawing -------------------------------------------------------------------------
    def draw_points(self, positions: Any, colors: Any = "g", marker: Optional[str] = None,
                    sizes: Any = None) -> "Visualizer":
        """Draw points at ``positions`` (Nx2 or 2, in x, y pixels); ``sizes`` in points^2."""
        owner = "Visualizer.draw_points"
        self._require_image(owner)
        from matplotlib.colors import to_rgba_array
        positions = _numeric(positions, owner, "positions")
        if positions.ndim == 1:
            positions = positions[None]
        if positions.ndim != 2 or positions.shape[1] != 2:
            raise ValueError(f"{owner}: positions must have shape (N, 2), got {positions.shape}")
        colors = color_val_matplotlib(colors_per_item(colors, len(positions), owner), owner)
        if sizes is not None and not isinstance(sizes, Real):
            sizes = _numeric(sizes, owner, "sizes")
        self._warn_outside(positions, owner, "points")
        self.ax_save.scatter(positions[:, 0], positions[:, 1], c=to_rgba_array(colors), s=sizes, marker=marker)
        return self

    def draw_texts(self, texts: Union[str, List[str]], positions: Any, font_sizes: Any = None,
                   colors: Any = "g", vertical_alignments: Union[str, List[str]] = "top",
                   horizontal_alignments: Union[str, List[str]] = "left",
                   font_families: Union[str, List[str]] = "sans-serif",
                   bboxes: Union[None, dict, List[dict]] = None, font_properties: Any = None) -> "Visualizer":
        """Draw ``texts`` anchored at ``positions`` (Nx2, x, y); ``bboxes`` are matplotlib
        ``bbox`` dicts drawn behind the texts, ``font_properties`` matplotlib FontProperties
        (e.g. a font file with CJK glyphs)."""
        owner = "Visualizer.draw_texts"
        self._require_image(owner)
        from matplotlib.font_manager import FontProperties
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise TypeError(f"{owner}: texts must be a str or a list of str, got {texts!r}")
        count = len(texts)
        positions = _numeric(positions, owner, "positions")
        if positions.ndim == 1:
            positions = positions[None]
        if positions.shape != (count, 2):
            raise ValueError(f"{owner}: positions must have shape ({count}, 2) for {count} texts, "
                             f"got {positions.shape}")
        self._warn_outside(positions, owner, "texts")
        sizes = _per_item(self._default_font_size if font_sizes is None else font_sizes,
                          Real, count, owner, "font_sizes")
        colors = color_val_matplotlib(colors_per_item(colors, count, owner), owner)
        valign = self._choices(vertical_alignments, count, owner, "vertical_alignments",
                               ("top", "center", "bottom", "baseline", "center_baseline"))
        halign = self._choices(horizontal_alignments, count, owner, "horizontal_alignments",
                               ("left", "center", "right"))
        families = _per_item(font_families, str, count, owner, "font_families")
        boxes = [None] * count if bboxes is None else _per_item(bboxes, dict, count, owner, "bboxes")
        fonts = ([None] * count if font_properties is None
                 else _per_item(font_properties, FontProperties, count, owner, "font_properties"))
        for i in range(count):
            self.ax_save.text(positions[i, 0], positions[i, 1], texts[i], size=sizes[i], bbox=boxes[i],
                              verticalalignment=valign[i], horizontalalignment=halign[i],
                              family=families[i], fontproperties=fonts[i], color=colors[i])
        return self

    @staticmethod
    def _choices(value: Any, count: int, owner: str, arg: str, valid: Tuple[str, ...]) -> List[str]:
        values = _per_item(value, str, count, owner, arg)
        for item in values:
            if item not in valid:
                raise ValueError(f"{owner}: {arg} must be one of {valid}, got {item!r}")
        return values

    def draw_lines(self, x_datas: Any, y_datas: Any, colors: Any = "g",
                   line_styles: Union[str, List[str]] = "-", line_widths: Any = 2) -> "Visualizer":
        """Draw segments: row i of ``x_datas`` / ``y_datas`` (Nx2 each) holds the x / y of
        segment i's two ends."""
        owner = "Visualizer.draw_lines"
        self._require_image(owner)
        from matplotlib.collections import LineCollection
        xs, ys = _numeric(x_datas, owner, "x_datas"), _numeric(y_datas, owner, "y_datas")
        if xs.shape != ys.shape:
            raise ValueError(f"{owner}: x_datas and y_datas must have the same shape, got {xs.shape} "
                             f"and {ys.shape}")
        if xs.ndim == 1:
            xs, ys = xs[None], ys[None]
        if xs.ndim != 2 or xs.shape[1] != 2:
            raise ValueError(f"{owner}: x_datas and y_datas must have shape (N, 2), got {xs.shape}")
        count = len(xs)
        segments = np.stack([xs, ys], axis=-1)            # N x 2 ends x (x, y)
        self._warn_outside(segments, owner, "lines")
        self.ax_save.add_collection(LineCollection(
            list(segments), colors=color_val_matplotlib(colors_per_item(colors, count, owner), owner),
            linestyles=_per_item(line_styles, str, count, owner, "line_styles"),
            linewidths=_per_item(line_widths, Real, count, owner, "line_widths")))
        return self

    def draw_circles(self, center: Any, radius: Any, edge_colors: Any = "g",
                     line_styles: Union[str, List[str]] = "-", line_widths: Any = 2,
                     face_colors: Any = "none", alpha: Union[int, float] = 0.8) -> "Visualizer":
        """Draw circles around ``center`` (Nx2, x, y) with ``radius`` (N values) in pixels."""
        owner = "Visualizer.draw_circles"
        self._require_image(owner)
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Circle
        center = _numeric(center, owner, "center")
        if center.ndim == 1:
            center = center[None]
        radius = _numeric(radius, owner, "radius").reshape(-1)
        if center.ndim != 2 or center.shape[1] != 2 or len(radius) != len(center):
            raise ValueError(f"{owner}: center must have shape (N, 2) with one radius per circle, got "
                             f"center {center.shape} and {len(radius)} radii")
        if (radius < 0).any():
            raise ValueError(f"{owner}: radius must not be negative, got {radius.tolist()}")
        count = len(center)
        self._warn_outside(np.concatenate([center - radius[:, None], center + radius[:, None]]),
                           owner, "circles")
        circles = [Circle((x, y), r) for (x, y), r in zip(center.tolist(), radius.tolist())]
        self.ax_save.add_collection(PatchCollection(
            circles, alpha=_check_alpha(alpha, owner),
            edgecolors=color_val_matplotlib(colors_per_item(edge_colors, count, owner), owner),
            facecolors=color_val_matplotlib(colors_per_item(face_colors, count, owner), owner),
            linestyles=_per_item(line_styles, str, count, owner, "line_styles"),
            linewidths=self._line_widths(line_widths, count, owner)))
        return self

    def draw_bboxes(self, bboxes: Any, edge_colors: Any = "g", line_styles: Union[str, List[str]] = "-",
                    line_widths: Any = 2, face_colors: Any = "none",
                    alpha: Union[int, float] = 0.8) -> "Visualizer":
        """Draw boxes given as (x1, y1, x2, y2) pixel corners, one row each (Nx4 or 4)."""
        owner = "Visualizer.draw_bboxes"
        self._require_image(owner)
        bboxes = _numeric(bboxes, owner, "bboxes")
        if bboxes.ndim == 1:
            bboxes = bboxes[None]
        if bboxes.ndim != 2 or bboxes.shape[1] != 4:
            raise ValueError(f"{owner}: bboxes must have shape (N, 4) as (x1, y1, x2, y2), got {bboxes.shape}")
        bad = np.nonzero((bboxes[:, 2] < bboxes[:, 0]) | (bboxes[:, 3] < bboxes[:, 1]))[0]
        if len(bad):
            raise ValueError(f"{owner}: each box needs x2 >= x1 and y2 >= y1 (x1, y1, x2, y2 order); "
                             f"box {int(bad[0])} is {bboxes[bad[0]].tolist()}")
        x1, y1, x2, y2 = bboxes.T
        corners = np.stack([x1, y1, x2, y1, x2, y2, x1, y2], axis=-1).reshape(-1, 4, 2)
        return self._polygons(list(corners), edge_colors, line_styles, line_widths, face_colors, alpha,
                              owner, "bboxes")

    def draw_polygons(self, polygons: Any, edge_colors: Any = "g", line_styles: Union[str, List[str]] = "-",
                      line_widths: Any = 2, face_colors: Any = "none",
                      alpha: Union[int, float] = 0.8) -> "Visualizer":
        """Draw closed polygons: one Mx2 array of (x, y) vertices, or a list of them."""
        owner = "Visualizer.draw_polygons"
        self._require_image(owner)
        if isinstance(polygons, (list, tuple)):
            polygons = [_numeric(p, owner, "polygons[i]") for p in polygons]
        else:
            polygons = [_numeric(polygons, owner, "polygons")]
        for i, polygon in enumerate(polygons):
            if polygon.ndim != 2 or polygon.shape[1] != 2:
                raise ValueError(f"{owner}: each polygon must have shape (M, 2) of (x, y) vertices; "
                                 f"polygon {i} has shape {polygon.shape}")
        return self._polygons(polygons, edge_colors, line_styles, line_widths, face_colors, alpha,
                              owner, "polygons")

    def _polygons(self, polygons, edge_colors, line_styles, line_widths, face_colors, alpha, owner, what):
        from matplotlib.collections import PolyCollection
        count = len(polygons)
        for polygon in polygons:
            self._warn_outside(polygon, owner, what)
        self.ax_save.add_collection(PolyCollection(
            polygons, alpha=_check_alpha(alpha, owner),
            edgecolors=color_val_matplotlib(colors_per_item(edge_colors, count, owner), owner),
            facecolors=color_val_matplotlib(colors_per_item(face_colors, count, owner), owner),
            linestyles=_per_item(line_styles, str, count, owner, "line_styles"),
            linewidths=self._line_widths(line_widths, count, owner)))
        return self

    def draw_binary_masks(self, binary_masks: Any, colors: Any = "g",
                          alphas: Union[float, List[float]] = 0.8) -> "Visualizer":
        """Tint the pixels of each mask (NxHxW or HxW, bool or 0/1, the image's size):
        ``pixel * (1 - alpha) + color * alpha`` inside, unchanged outside."""
        import cv2
        owner = "Visualizer.draw_binary_masks"
        self._require_image(owner)
        masks = _to_array(binary_masks, owner, "binary_masks")
        if masks.dtype != np.bool_:
            if not np.issubdtype(masks.dtype, np.integer) or not np.isin(masks, (0, 1)).all():
                raise TypeError(f"{owner}: binary_masks must be bool (or integers 0/1), got dtype "
                                f"{masks.dtype}")
            masks = masks.astype(bool)
        if masks.ndim == 2:
            masks = masks[None]
        if masks.ndim != 3 or masks.shape[1:] != (self.height, self.width):
            raise ValueError(f"{owner}: binary_masks must have shape (N, H, W) = (N, {self.height}, "
                             f"{self.width}) like the image, got {masks.shape}")
        count = len(masks)
        colors = [color_val_rgb255(c, owner) for c in colors_per_item(colors, count, owner)]
        alphas = [_check_alpha(a, owner, "alphas")
                  for a in _per_item(alphas, Real, count, owner, "alphas")]
        drawn = self.get_image()
        for mask, color, alpha in zip(masks, colors, alphas):
            tinted = drawn.copy()
            tinted[mask] = color
            drawn = cv2.addWeighted(drawn, 1 - alpha, tinted, alpha, 0)
        # everything drawn so far is in these pixels now: drop the old layers so they are not drawn twice
        axes = self.ax_save
        for artist in [*axes.images, *axes.collections, *axes.texts, *axes.patches, *axes.lines]:
            artist.remove()
        self._show_pixels(drawn, "nearest")
        return self

    @staticmethod
    def draw_featmap(featmap: Any, overlaid_image: Optional[np.ndarray] = None,
                     channel_reduction: Optional[str] = "squeeze_mean", topk: int = 20,
                     arrangement: Tuple[int, int] = (4, 5), resize_shape: Optional[tuple] = None,
                     alpha: float = 0.5) -> np.ndarray:
        """A feature map (CxHxW tensor) as an RGB heat map, blended over ``overlaid_image``.

        ``channel_reduction``: 'squeeze_mean' averages the channels, 'select_max' keeps
        the channel with the largest sum; None with ``topk > 0`` draws the ``topk``
        largest-sum channels in an ``arrangement`` (rows, cols) grid, and None with
        ``topk <= 0`` draws a 1- or 3-channel map as it is. ``resize_shape`` (h, w)
        resizes map and image; a map of another size than the image is resized to it.
        """
        return _draw_featmap(featmap, overlaid_image, channel_reduction, topk, arrangement,
                             resize_shape, alpha)

    # -- showing ---------------------------------------------------------------------------
    def show(self, drawn_img: Optional[np.ndarray] = None, win_name: str = "image",
             wait_time: float = 0., continue_key: str = " ", backend: str = "matplotlib") -> Any:
        """Show ``drawn_img`` (default: ``get_image()``) in a window until ``continue_key``
        is pressed, the window closes or ``wait_time`` seconds pass (0: no limit).

        Where no window can open (no display, a headless OpenCV, a non-GUI
        matplotlib backend) it warns and returns; in a notebook it returns the figure.
        """
        if backend not in ("matplotlib", "cv2"):
            raise ValueError(f"Visualizer.show: backend must be 'matplotlib' or 'cv2', got {backend!r}")
        image = self.get_image() if drawn_img is None else _rgb_image(drawn_img, "Visualizer.show")
        return self._shower.show(image, win_name, wait_time, continue_key, backend)

    # -- logging to backends -------------------------------------------------------------
    def add_config(self, config: Any, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_config(config, **kwargs)

    def add_graph(self, model: Any, data_batch: Any = None, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_graph(model, data_batch, **kwargs)

    def add_image(self, name: str, image: Any, step: int = 0) -> None:
        """Send an RGB uint8 image to every backend (a file, an image summary, an artifact)."""
        for backend in self._vis_backends.values():
            backend.add_image(name, image, step)

    def add_scalar(self, name: str, value: Any, step: int = 0, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict: Mapping[str, Any], step: int = 0,
                    file_path: Optional[str] = None, **kwargs) -> None:
        for backend in self._vis_backends.values():
            backend.add_scalars(scalar_dict, step, file_path, **kwargs)

    def add_datasample(self, name: str, image: Any, data_sample: Any = None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       step: int = 0) -> None:
        """Draw a sample's ground truth and prediction on ``image``, then show or log it.

        Task visualizers (one per toolbox) override this; the base class knows
        no task, so it shows (``show=True``) and logs the image as it is.
        """
        self.set_image(image)
        drawn = self.get_image()
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        self.add_image(name, drawn, step)

    def close(self) -> None:
        """Flush and close every backend and any window (call at the end of a run)."""
        for backend in self._vis_backends.values():
            backend.close()
        self._shower.close()
