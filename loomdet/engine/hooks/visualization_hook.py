"""DetVisualizationHook: draw validation and test predictions with the run's visualizer."""

import os
import os.path as osp
import warnings
from typing import Optional, Sequence

from loomcv import fileio
from loomcv.hooks import Hook
from loomcv.image import imfrombytes
from loomcv.validation import check, check_positive
from loomcv.visualization import Visualizer

from ...registry import HOOKS


@HOOKS.register_module()
class DetVisualizationHook(Hook):
    """Draw predictions on the original images during validation and testing (MMDetection 3.x's arguments).

    Validation draws the first sample of every ``interval``-th batch and sends it
    to the visualizer's backends as 'val_img'; testing draws every sample, to
    ``<work_dir>/<timestamp>/<test_out_dir>/<image name>`` when ``test_out_dir``
    is given, else to the backends. Nothing is drawn unless ``draw=True``.

    Args:
        draw: draw at all.
        interval: validation batches between drawings.
        score_thr: predictions scoring at or below it are not drawn.
        show: show each drawing in a window (the backends are then not written).
        wait_time: seconds a shown window stays open (0: until a key).
        test_out_dir: folder (under the run's log folder) for the test drawings.
        backend_args: storage backend the images are read with.
    """

    priority = "NORMAL"

    def __init__(self, draw: bool = False, interval: int = 50, score_thr: float = 0.3, show: bool = False,
                 wait_time: float = 0., test_out_dir: Optional[str] = None, backend_args: Optional[dict] = None):
        check_positive(self, "interval", interval, integer=True)
        check(isinstance(score_thr, (int, float)) and 0 <= score_thr <= 1, self,
              f"score_thr must be a number in [0, 1], got {score_thr!r}")
        self._visualizer: Visualizer = Visualizer.get_current_instance()
        self.interval = interval
        self.score_thr = score_thr
        self.show = show
        if self.show:
            # a window per image: writing them to the backends too would double the work
            self._visualizer._vis_backends = {}
            warnings.warn("DetVisualizationHook: show=True, so the visualizer's backends are not written",
                          UserWarning, stacklevel=2)
        self.wait_time = wait_time
        self.backend_args = backend_args
        self.draw = draw
        self.test_out_dir = test_out_dir
        self._test_dir: Optional[str] = None
        self._test_index = 0

    def _load(self, sample):
        path = sample.img_path if "img_path" in sample else None
        if path is None:
            raise KeyError("DetVisualizationHook: the data samples have no 'img_path'; keep it in "
                           "PackDetInputs' meta_keys to draw predictions")
        return path, imfrombytes(fileio.get(path, backend_args=self.backend_args), channel_order="rgb")

    def _set_meta(self, loop) -> None:
        """Give the visualizer the evaluated dataset's class names and palette, unless it has them."""
        dataset = getattr(getattr(loop, "dataloader", None), "dataset", None)
        meta = getattr(dataset, "metainfo", None)
        if meta and not (self._visualizer.dataset_meta or {}).get("classes"):
            self._visualizer.dataset_meta = dict(meta)

    def before_val(self, runner) -> None:
        if self.draw:
            self._set_meta(runner.val_loop)

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs:
            return
        total_iter = runner.iter + batch_idx
        if total_iter % self.interval == 0:
            path, img = self._load(outputs[0])
            self._visualizer.add_datasample(osp.basename(path) if self.show else "val_img", img,
                                            data_sample=outputs[0], show=self.show, wait_time=self.wait_time,
                                            pred_score_thr=self.score_thr, step=total_iter)

    def before_test(self, runner) -> None:
        self._test_index = 0
        if self.draw:
            self._set_meta(runner.test_loop)
        if self.draw and self.test_out_dir is not None:
            self._test_dir = osp.join(runner.work_dir, runner.timestamp, self.test_out_dir)
            os.makedirs(self._test_dir, exist_ok=True)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[Sequence] = None) -> None:
        if not self.draw or not outputs:
            return
        for sample in outputs:
            self._test_index += 1
            path, img = self._load(sample)
            out_file = osp.join(self._test_dir, osp.basename(path)) if self._test_dir else None
            self._visualizer.add_datasample(osp.basename(path) if self.show else "test_img", img,
                                            data_sample=sample, show=self.show, wait_time=self.wait_time,
                                            pred_score_thr=self.score_thr, out_file=out_file,
                                            step=self._test_index)
