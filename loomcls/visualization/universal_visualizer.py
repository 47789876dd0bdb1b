"""UniversalVisualizer: a classification result drawn on its image.

MMPretrain 1.x's name and arguments: ``visualize_cls`` (what its
VisualizationHook and inferencer call) writes ``Ground truth: 3 (cat)`` and
``Prediction: 5, 0.87 (dog)`` in a translucent box at the top-left, with a
font that scales with the image's short edge (224 px -> 7 pt, clamped to
0.3x-3x). ``add_datasample`` is the MMEngine-style entry point to the same
drawing. ``ClsVisualizer`` (MMClassification 1.x's name) is the same class.
Unlike MMPretrain, images smaller than 224 px are enlarged before drawing
(``min_short_edge``), so the labels on a 32 px CIFAR picture can be read.
"""

import os
import os.path as osp
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from loomcls.registry import VISUALIZERS
from loomcv import dist
from loomcv.visualization import Visualizer

#: short edge (pixels) at which the drawing scale is 1
REFERENCE_EDGE = 224.0


def adaptive_scale(shape: Sequence[int], min_scale: float = 0.3, max_scale: float = 3.0) -> float:
    """Drawing scale for an image of ``shape`` (h, w): short edge / 224, clamped."""
    return min(max(min(shape[:2]) / REFERENCE_EDGE, min_scale), max_scale)


def _label_lines(prefix: str, labels: Sequence[int], scores: Optional[Sequence[str]],
                 classes: Optional[Sequence[str]]) -> str:
    """``'Prediction: 3, 0.87 (cat)'``; several labels go one per line under the first."""
    parts = []
    for i, label in enumerate(labels):
        text = str(label)
        if scores is not None:
            text += scores[i]
        if classes is not None:
            text += f" ({classes[label]})"
        parts.append(text)
    return prefix + ("\n" + " " * len(prefix)).join(parts)


@VISUALIZERS.register_module(name=["UniversalVisualizer", "ClsVisualizer"])
class UniversalVisualizer(Visualizer):
    """The Visualizer of classification configs (``visualizer=dict(type='UniversalVisualizer',
    vis_backends=[...])``); arguments as :class:`loomcv.visualization.Visualizer`, plus:

    Args:
        min_short_edge: images whose short edge is smaller are enlarged to it
            (nearest-neighbour, aspect kept) unless ``resize``/``rescale_factor`` is
            given, so that the text stays legible on CIFAR-sized pictures. None draws
            every image at its own size, as MMPretrain does.
    """

    def __init__(self, *args, min_short_edge: Optional[int] = int(REFERENCE_EDGE), **kwargs):
        if min_short_edge is not None and (isinstance(min_short_edge, bool)
                                           or not isinstance(min_short_edge, int) or min_short_edge < 1):
            raise ValueError(f"{type(self).__name__}: min_short_edge must be a positive int or None, "
                             f"got {min_short_edge!r}")
        super().__init__(*args, **kwargs)
        self.min_short_edge = min_short_edge

    DEFAULT_TEXT_CFG = {
        "family": "monospace",
        "color": "white",
        "bbox": dict(facecolor="black", alpha=0.5, boxstyle="Round"),
        "verticalalignment": "top",
        "horizontalalignment": "left",
    }

    def visualize_cls(self, image: np.ndarray, data_sample: Any, classes: Optional[Sequence[str]] = None,
                      draw_gt: bool = True, draw_pred: bool = True, draw_score: bool = True,
                      resize: Optional[int] = None, rescale_factor: Optional[float] = None,
                      text_cfg: Mapping = {}, show: bool = False, wait_time: float = 0,  # noqa: B006
                      out_file: Optional[str] = None, name: str = "", step: int = 0) -> Optional[np.ndarray]:
        """Draw ``data_sample``'s labels on ``image`` (RGB) and return the drawing.

        ``classes`` default to ``dataset_meta['classes']``. ``resize`` sets the
        short edge (aspect kept), else ``rescale_factor`` scales the image, before
        drawing (without either, images under ``min_short_edge`` are enlarged).
        ``text_cfg`` overrides matplotlib text properties. The drawing goes to
        ``out_file`` if given, else to every vis backend under ``name`` at
        ``step``; ``show`` also opens a window. Only rank 0 draws (others get None).
        """
        if dist.get_rank() != 0:
            return None
        owner = f"{type(self).__name__}.visualize_cls"
        if self.dataset_meta is not None:
            classes = classes or self.dataset_meta.get("classes")
        image = self._prepare_image(image, resize, rescale_factor, self.min_short_edge, owner)
        if not isinstance(text_cfg, Mapping):
            raise TypeError(f"{owner}: text_cfg must be a dict of matplotlib text properties, got {text_cfg!r}")

        texts = []
        if draw_gt and "gt_label" in data_sample:
            labels = self._labels(data_sample.gt_label, classes, "gt_label", owner)
            texts.append(_label_lines("Ground truth: ", labels, None, classes))
        if draw_pred and "pred_label" in data_sample:
            labels = self._labels(data_sample.pred_label, classes, "pred_label", owner)
            scores = None
            if draw_score and "pred_score" in data_sample:
                score = data_sample.pred_score
                scores = [f", {float(score[i]):.2f}" for i in labels]
            texts.append(_label_lines("Prediction: ", labels, scores, classes))

        self.set_image(image)
        scale = adaptive_scale(image.shape)
        cfg = {"size": int(scale * 7), **self.DEFAULT_TEXT_CFG, **dict(text_cfg)}
        self.ax_save.text(scale * 5, scale * 5, "\n".join(texts), **cfg)
        drawn = self.get_image()

        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            self._write(drawn, out_file, owner)
        else:
            self.add_image(name, drawn, step=step)
        return drawn

    def add_datasample(self, name: str, image: np.ndarray, data_sample: Any = None, draw_gt: bool = True,
                       draw_pred: bool = True, draw_score: bool = True, resize: Optional[int] = None,
                       rescale_factor: Optional[float] = None, text_cfg: Mapping = {},  # noqa: B006
                       show: bool = False, wait_time: float = 0, out_file: Optional[str] = None,
                       step: int = 0) -> Optional[np.ndarray]:
        """MMClassification 1.x's entry point: :meth:`visualize_cls` with ``name`` first."""
        if data_sample is None:
            from loomcls.structures import DataSample
            data_sample = DataSample()
        return self.visualize_cls(image, data_sample, draw_gt=draw_gt, draw_pred=draw_pred,
                                  draw_score=draw_score, resize=resize, rescale_factor=rescale_factor,
                                  text_cfg=text_cfg, show=show, wait_time=wait_time, out_file=out_file,
                                  name=name, step=step)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _prepare_image(image: Any, resize: Optional[int], rescale_factor: Optional[float],
                       min_short_edge: Optional[int], owner: str) -> np.ndarray:
        from loomcv.image import imrescale, imresize
        if hasattr(image, "detach"):
            image = image.detach().cpu().numpy()
        if not isinstance(image, np.ndarray):
            raise TypeError(f"{owner}: image must be an RGB uint8 numpy array, got {type(image).__name__}")
        if resize is not None:
            if isinstance(resize, bool) or not isinstance(resize, int) or resize < 1:
                raise ValueError(f"{owner}: resize must be a positive int (the short edge in pixels), "
                                 f"got {resize!r}")
            h, w = image.shape[:2]
            size = (resize, round(resize * h / w)) if w < h else (round(resize * w / h), resize)
            image = imresize(image, size)
        elif rescale_factor is not None:
            if isinstance(rescale_factor, bool) or not isinstance(rescale_factor, (int, float)) \
                    or rescale_factor <= 0:
                raise ValueError(f"{owner}: rescale_factor must be a positive number, got {rescale_factor!r}")
            image = imrescale(image, float(rescale_factor))
        elif min_short_edge is not None and min(image.shape[:2]) < min_short_edge:
            h, w = image.shape[:2]
            size = (min_short_edge, round(min_short_edge * h / w)) if w < h \
                else (round(min_short_edge * w / h), min_short_edge)
            image = imresize(image, size, interpolation="nearest")
        return image

    @staticmethod
    def _labels(value: Any, classes: Optional[Sequence[str]], field: str, owner: str) -> list:
        labels = [int(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]
        if classes is not None:
            bad = [v for v in labels if not 0 <= v < len(classes)]
            if bad:
                raise ValueError(f"{owner}: {field} {bad[0]} has no class name: there are {len(classes)} "
                                 f"classes ({', '.join(map(str, classes[:5]))}"
                                 f"{', ...' if len(classes) > 5 else ''})")
        return labels

    @staticmethod
    def _write(drawn: np.ndarray, out_file: str, owner: str) -> None:
        from loomcv.image import imwrite
        folder = osp.dirname(osp.abspath(out_file))
        os.makedirs(folder, exist_ok=True)
        if not imwrite(np.ascontiguousarray(drawn[..., ::-1]), out_file):
            raise OSError(f"{owner}: could not write {out_file!r}")
