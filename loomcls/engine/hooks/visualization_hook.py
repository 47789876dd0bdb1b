"""VisualizationHook: draw every ``interval``-th validation/test prediction (MMPretrain's hook).

Off unless ``enable=True`` (MMPretrain's default runtime lists it disabled;
``loomcv test CONFIG CKPT --show-dir DIR`` switches it on). Each drawn sample
goes to the visualizer's backends (``<log dir>/vis_data/vis_image/`` for
LocalVisBackend) or, with ``out_dir``, to ``out_dir/<image name>_<step>.png``.

The picture is the sample's original file when ``img_path`` names a readable
local file, else the packed input tensor (BGR tensors, those the model's data
preprocessor converts to RGB, are flipped back to RGB).
"""

import inspect
import math
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from loomcls.registry import HOOKS
from loomcv.errors import ConfigError, did_you_mean
from loomcv.hooks import Hook
from loomcv.model.wrappers import unwrap_model
from loomcv.runner.loops import EpochBasedTrainLoop
from loomcv.visualization import Visualizer


@HOOKS.register_module()
class VisualizationHook(Hook):
    """Args:
        enable: draw at all.
        interval: draw samples 0, interval, 2*interval, ... of each pass.
        show: also show each drawing in a window.
        out_dir: write PNGs here instead of to the vis backends.
        **kwargs: passed to the visualizer's ``visualize_cls`` (``draw_gt``, ``draw_pred``,
            ``draw_score``, ``resize``, ``rescale_factor``, ``text_cfg``, ``wait_time``).
    """

    def __init__(self, enable: bool = False, interval: int = 5000, show: bool = False,
                 out_dir: Optional[str] = None, **kwargs):
        owner = type(self).__name__
        if not isinstance(enable, bool):
            raise TypeError(f"{owner}: enable must be True or False, got {enable!r}")
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f"{owner}: interval must be a positive int (every N-th sample), got {interval!r}")
        if out_dir is not None and not isinstance(out_dir, str):
            raise TypeError(f"{owner}: out_dir must be a folder path or None, got {out_dir!r}")
        self._visualizer = Visualizer.get_current_instance()
        self._check_draw_args(kwargs, owner)
        if out_dir is not None and "out_file" not in inspect.signature(self._draw_method()).parameters:
            raise ConfigError(f"{owner}: out_dir needs a visualizer that can write files (UniversalVisualizer); "
                              f"the run's visualizer is a {type(self._visualizer).__name__}: set "
                              f"visualizer=dict(type='UniversalVisualizer', vis_backends=[...])")
        self.enable = enable
        self.interval = interval
        self.show = show
        self.out_dir = out_dir
        self.draw_args = {**kwargs, "show": show}

    def _draw_method(self):
        """The visualizer's classification drawing: ``visualize_cls``, else ``add_datasample``."""
        method = getattr(self._visualizer, "visualize_cls", None)
        return method if method is not None else self._visualizer.add_datasample

    def _check_draw_args(self, kwargs: dict, owner: str) -> None:
        params = inspect.signature(self._draw_method()).parameters
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return
        fixed = {"image", "data_sample", "name", "step", "show", "out_file"}
        valid = sorted(set(params) - fixed)
        unknown = sorted(set(kwargs) - set(valid))
        if unknown:
            raise ConfigError(f"{owner}: unknown argument(s) {unknown} for "
                              f"{type(self._visualizer).__name__}; accepted: {', '.join(valid)}."
                              f"{did_you_mean(unknown[0], valid)}")

    # ------------------------------------------------------------------ stages
    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Sequence] = None) -> None:
        step = runner.iter
        if runner.train_loop_built and isinstance(runner.train_loop, EpochBasedTrainLoop):
            step = runner.epoch
        self._draw_samples(runner, "val", batch_idx, data_batch, outputs, step)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Sequence] = None) -> None:
        self._draw_samples(runner, "test", batch_idx, data_batch, outputs, 0)

    # ------------------------------------------------------------------ drawing
    def _draw_samples(self, runner, mode: str, batch_idx: int, data_batch, outputs, step: int) -> None:
        if not self.enable or not outputs:
            return
        loader = getattr(getattr(runner, f"{mode}_loop", None), "dataloader", None)
        batch_size = getattr(loader, "batch_size", None) or len(outputs)
        start = batch_size * batch_idx
        first = math.ceil(start / self.interval) * self.interval
        inputs = data_batch.get("inputs") if isinstance(data_batch, dict) else None
        for sample_id in range(first, start + len(outputs), self.interval):
            index = sample_id - start
            sample = outputs[index]
            image = self._image(runner, sample, inputs, index)
            img_path = sample.get("img_path") if hasattr(sample, "get") else None
            name = osp.basename(img_path) if img_path else str(sample_id)
            if self.out_dir is not None:
                self.draw_args["out_file"] = osp.join(self.out_dir, f"{name}_{step}.png")
            self._draw_method()(image=image, data_sample=sample, step=step, name=name, **self.draw_args)

    @staticmethod
    def _image(runner, sample, inputs, index: int) -> np.ndarray:
        """The RGB picture of one sample: its file if readable here, else its packed input."""
        img_path = sample.get("img_path") if hasattr(sample, "get") else None
        if isinstance(img_path, str) and osp.isfile(img_path):
            from loomcv.image import imread
            return imread(img_path, channel_order="rgb")
        if inputs is None:
            raise ValueError("VisualizationHook: the sample has no readable img_path and the batch has no "
                             "'inputs' to draw")
        tensor = inputs[index]
        image = tensor.detach().cpu().permute(1, 2, 0).numpy()
        image = np.clip(image, 0, 255).astype(np.uint8)
        if image.shape[2] == 1:
            return image[..., 0]
        preprocessor = getattr(unwrap_model(runner.model), "data_preprocessor", None)
        if image.shape[2] == 3 and getattr(preprocessor, "_channel_conversion", False):
            image = image[..., ::-1]  # the model converts BGR inputs to RGB: they are BGR here
        return np.ascontiguousarray(image)
