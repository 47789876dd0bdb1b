"""NaiveVisualizationHook: draw every ``interval``-th test batch's predictions with the run's Visualizer.

A task-agnostic drawing hook (MMEngine's): the network input is turned back into an
image (``img_norm_cfg`` of the data sample, when it has one, undoes the
normalization), cropped to the unpadded ``img_shape`` and resized to ``ori_shape``,
then handed with the prediction to ``Visualizer.add_datasample``. Toolboxes ship
their own VisualizationHook that draws from the original file instead.
"""

import os.path as osp
from typing import Any, Optional, Sequence

import numpy as np

from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class NaiveVisualizationHook(Hook):
    """Args: ``interval`` (every N-th test batch), ``draw_gt``, ``draw_pred``."""

    priority = "NORMAL"

    def __init__(self, interval: int = 1, draw_gt: bool = True, draw_pred: bool = True):
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f"NaiveVisualizationHook: interval must be an int >= 1, got {interval!r}")
        self._interval, self._draw_gt, self._draw_pred = interval, draw_gt, draw_pred

    def after_test_iter(self, runner, batch_idx: int, data_batch: Any = None,
                        outputs: Optional[Sequence] = None) -> None:
        if not self.every_n_inner_iters(batch_idx, self._interval) or not isinstance(data_batch, dict):
            return
        inputs, samples = data_batch.get("inputs"), data_batch.get("data_samples") or []
        if inputs is None:
            return
        for i, (image, output) in enumerate(zip(inputs, outputs or [])):
            sample = samples[i] if i < len(samples) else output
            picture = to_image(image, _get(sample, "img_norm_cfg"), _get(sample, "img_shape"),
                               _get(sample, "ori_shape"))
            path = _get(sample, "img_path")
            name = osp.basename(path) if path else f"test_{batch_idx}_{i}"
            runner.visualizer.add_datasample(name, picture, data_sample=output, draw_gt=self._draw_gt,
                                             draw_pred=self._draw_pred, step=batch_idx)


def _get(sample: Any, key: str) -> Any:
    if sample is None:
        return None
    getter = getattr(sample, "get", None)
    return getter(key) if callable(getter) else getattr(sample, key, None)


def to_image(tensor: Any, norm_cfg: Optional[dict] = None, img_shape: Optional[Sequence[int]] = None,
             ori_shape: Optional[Sequence[int]] = None) -> np.ndarray:
    """A CHW network input as an HxWx3 uint8 picture: de-normalized, unpadded, at the original size."""
    import cv2
    import torch

    from loomcv.image import tensor2imgs
    t = tensor if isinstance(tensor, torch.Tensor) else torch.as_tensor(np.asarray(tensor))
    if t.dim() == 2:
        t = t[None]
    if t.size(0) == 1:
        t = t.expand(3, -1, -1)
    cfg = dict(norm_cfg or {})
    image = tensor2imgs(t[None].float(), cfg.get("mean"), cfg.get("std"), bool(cfg.get("to_rgb", False)))[0]
    if img_shape is not None:
        image = image[:int(img_shape[0]), :int(img_shape[1])]
    if ori_shape is not None and tuple(image.shape[:2]) != tuple(int(s) for s in ori_shape[:2]):
        image = cv2.resize(image, (int(ori_shape[1]), int(ori_shape[0])))
    return np.ascontiguousarray(image)
