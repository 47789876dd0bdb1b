"""DetLocalVisualizer: boxes, class names, scores and masks of a DetDataSample drawn on its image."""

import warnings
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from loomcv.image import imwrite
from loomcv.visualization import Visualizer

from ..registry import VISUALIZERS
from .palette import adaptive_scales, get_palette

Color = Union[str, Tuple[int, int, int]]


def _numpy(value) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


@VISUALIZERS.register_module()
class DetLocalVisualizer(Visualizer):
    """Draw detection ground truth and predictions (MMDetection 3.x's arguments).

    Class colours come from ``bbox_color`` / ``mask_color`` when given (one
    colour, a list per class, or 'random'), else from ``dataset_meta['palette']``,
    else from a fixed seeded palette.

    Args:
        name, image, vis_backends, save_dir: as for :class:`loomcv.visualization.Visualizer`.
        bbox_color: box colours (None: the dataset palette).
        text_color: label text colour(s).
        mask_color: mask colours (None: the dataset palette).
        line_width: box line width in points.
        alpha: opacity of boxes and masks.
    """

    def __init__(self, name: str = "visualizer", image: Optional[np.ndarray] = None, vis_backends=None,
                 save_dir: Optional[str] = None, bbox_color: Optional[Union[Color, Sequence]] = None,
                 text_color: Optional[Union[Color, Sequence]] = (200, 200, 200),
                 mask_color: Optional[Union[Color, Sequence]] = None, line_width: Union[int, float] = 3,
                 alpha: float = 0.8):
        super().__init__(name=name, image=image, vis_backends=vis_backends, save_dir=save_dir)
        self.bbox_color = bbox_color
        self.text_color = text_color
        self.mask_color = mask_color
        self.line_width = line_width
        self.alpha = alpha
        self.dataset_meta = {}

    def _draw_instances(self, image: np.ndarray, instances, classes: Optional[Sequence[str]],
                        palette) -> np.ndarray:
        """``image`` (RGB) with the masks, then the boxes and their labels (and scores) drawn on it."""
        self.set_image(image)
        height, width = image.shape[:2]
        labels = _numpy(instances.labels).astype(np.int64).reshape(-1) if "labels" in instances else None
        if labels is None or len(labels) == 0:
            return self.get_image()
        num_colors = int(labels.max()) + 1
        if "masks" in instances and len(instances.masks):
            masks = _numpy(instances.masks).astype(bool)
            if masks.shape[1:] != (height, width):
                warnings.warn(f"DetLocalVisualizer: masks of shape {masks.shape[1:]} do not match the "
                              f"{height}x{width} image; they are not drawn", UserWarning, stacklevel=3)
            else:
                mask_palette = get_palette(palette if self.mask_color is None else self.mask_color, num_colors)
                self.draw_binary_masks(masks, colors=[mask_palette[i] for i in labels], alphas=self.alpha * 0.6)
        if "bboxes" in instances and len(instances.bboxes):
            boxes = _numpy(instances.bboxes).astype(np.float64).reshape(-1, 4)
            boxes[:, 0::2] = boxes[:, 0::2].clip(0, width)
            boxes[:, 1::2] = boxes[:, 1::2].clip(0, height)
            box_palette = get_palette(palette if self.bbox_color is None else self.bbox_color, num_colors)
            text_palette = get_palette(self.text_color, num_colors)
            self.draw_bboxes(boxes, edge_colors=[box_palette[i] for i in labels], alpha=self.alpha,
                             line_widths=self.line_width)
            scores = _numpy(instances.scores).reshape(-1) if "scores" in instances else None
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            scales = adaptive_scales(areas)
            for i, label in enumerate(labels):
                text = classes[label] if classes is not None and label < len(classes) else f"class {label}"
                if scores is not None:
                    text += f": {round(float(scores[i]) * 100, 1)}"
                position = np.minimum(boxes[i, :2] + self.line_width, [max(width - 1, 0), max(height - 1, 0)])
                self.draw_texts(text, position, colors=text_palette[label], font_sizes=int(13 * scales[i]),
                                bboxes=[dict(facecolor="black", alpha=0.8, pad=0.7, edgecolor="none")])
        return self.get_image()

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None, draw_gt: bool = True,
                       draw_pred: bool = True, show: bool = False, wait_time: float = 0,
                       out_file: Optional[str] = None, pred_score_thr: float = 0.3, step: int = 0) -> None:
        """Draw ``data_sample``'s ground truth (left) and its predictions scoring above
        ``pred_score_thr`` (right) on ``image`` (RGB), then show it, write it to
        ``out_file`` (as BGR, like every image file), or send it to the backends."""
        image = np.clip(np.asarray(image), 0, 255).astype(np.uint8)
        meta = self.dataset_meta or {}
        classes, palette = meta.get("classes"), meta.get("palette")
        gt_img = pred_img = None
        if data_sample is not None:
            data_sample = data_sample.cpu() if hasattr(data_sample, "cpu") else data_sample
            if draw_gt:
                gt_img = image
                if "gt_instances" in data_sample:
                    gt_img = self._draw_instances(image, data_sample.gt_instances, classes, palette)
            if draw_pred:
                pred_img = image
                if "pred_instances" in data_sample:
                    pred = data_sample.pred_instances
                    if "scores" in pred:
                        pred = pred[pred.scores > pred_score_thr]
                    pred_img = self._draw_instances(image, pred, classes, palette)
        if gt_img is not None and pred_img is not None:
            drawn = np.concatenate((gt_img, pred_img), axis=1)
        else:
            drawn = gt_img if gt_img is not None else pred_img if pred_img is not None else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            if not imwrite(drawn[..., ::-1], out_file):
                raise OSError(f"DetLocalVisualizer: could not write {out_file!r}")
        else:
            self.add_image(name, drawn, step)
