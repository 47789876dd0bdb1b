"""LoggerHook: writes log lines and scalars every ``interval`` iterations and after val/test.

On an interactive terminal (and ``CI`` unset) training, validation and
testing also show a rich progress bar; otherwise only plain lines are printed. Scalars are read from
the MessageHub only at log intervals, which is the one place the step's
tensors are turned into numbers.
"""

import os
import os.path as osp
import sys
from typing import Optional

from loomcv.registry import HOOKS
from loomcv.validation import check_positive

from .hook import Hook


def interactive_terminal() -> bool:
    """True on a TTY unless the ``CI`` environment variable is set."""
    if os.environ.get("CI"):
        return False
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty())


@HOOKS.register_module()
class LoggerHook(Hook):
    """Args:
        interval: log every this many training (and val/test) iterations.
        ignore_last: skip the last iterations of an epoch that do not fill an interval.
        log_metric_by_epoch: step validation scalars by epoch (True) or by iteration.
        progress_bar: None decides by the terminal (see :func:`interactive_terminal`).
        out_dir: also copy the log and scalar files here at the end of the run.
    """

    priority = "BELOW_NORMAL"

    def __init__(self, interval: int = 10, ignore_last: bool = True, interval_exp_name: int = 1000,
                 log_metric_by_epoch: bool = True, progress_bar: Optional[bool] = None,
                 out_dir: Optional[str] = None, out_suffix=(".json", ".log", ".py", "yaml"),
                 keep_local: bool = True, backend_args: Optional[dict] = None):
        check_positive(self, "interval", interval, integer=True)
        self.interval = interval
        self.ignore_last = ignore_last
        self.interval_exp_name = interval_exp_name
        self.log_metric_by_epoch = log_metric_by_epoch
        self.progress_bar = progress_bar
        self.out_dir = out_dir
        self.out_suffix = tuple(out_suffix) if not isinstance(out_suffix, str) else (out_suffix,)
        self.keep_local = keep_local
        self._progress = None
        self._task = None
        self._eval_task = None
        self._owns_eval_bar = False
        self._epoch_length = 0

    # ------------------------------------------------------------ progress bars
    def _show_bar(self, runner) -> bool:
        show = interactive_terminal() if self.progress_bar is None else self.progress_bar
        return bool(show) and runner.rank == 0

    def _new_progress(self):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
        # progress_bar=True asks for the bar even where stdout is not a terminal
        console = Console(file=sys.stdout, force_terminal=True if self.progress_bar else None)
        progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), transient=True, console=console)
        progress.start()
        return progress

    def before_train(self, runner) -> None:
        if self._show_bar(runner):
            self._progress = self._new_progress()
            self._task = self._progress.add_task("train", total=runner.max_iters, completed=runner.iter)

    def before_train_epoch(self, runner) -> None:
        self._epoch_length = len(runner.train_dataloader)

    def after_train(self, runner) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        from loomcv.dataset.broken import find_broken_samples
        broken = find_broken_samples(getattr(runner.train_loop, "dataloader", None) and
                                     getattr(runner.train_loop.dataloader, "dataset", None))
        if broken is not None and broken.count:
            runner.logger.warning(broken.summary())

    def _start_eval_bar(self, runner, mode: str) -> None:
        """A bar for one val/test pass: a second line under the training bar, or its own."""
        if not self._show_bar(runner):
            return
        loop = getattr(runner, f"{mode}_loop")
        total = getattr(loop, "num_batches", None) or len(loop.dataloader)
        self._owns_eval_bar = self._progress is None
        if self._owns_eval_bar:
            self._progress = self._new_progress()
        self._eval_task = self._progress.add_task(mode, total=total)

    def _advance_eval_bar(self) -> None:
        if self._eval_task is not None:
            self._progress.update(self._eval_task, advance=1)

    def _stop_eval_bar(self) -> None:
        if self._eval_task is None:
            return
        self._progress.remove_task(self._eval_task)
        self._eval_task = None
        if self._owns_eval_bar:
            self._progress.stop()
            self._progress = None

    def before_val_epoch(self, runner) -> None:
        self._start_eval_bar(runner, "val")

    def before_test_epoch(self, runner) -> None:
        self._start_eval_bar(runner, "test")

    # ------------------------------------------------------------ train
    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=1)
        if self.every_n_train_iters(runner, self.interval_exp_name) and runner.experiment_name:
            runner.logger.info(f"Exp name: {runner.experiment_name}")
        processor = runner.log_processor
        if processor.by_epoch:
            due = self.every_n_inner_iters(batch_idx, self.interval) or (
                batch_idx + 1 == self._epoch_length and (not self.ignore_last or self._epoch_length <= self.interval))
        else:
            due = self.every_n_train_iters(runner, self.interval)
        if not due:
            return
        tag, line = processor.get_log_after_iter(runner, batch_idx, "train")
        runner.logger.info(line)
        runner.visualizer.add_scalars(tag, step=runner.iter + 1, file_path=f"{runner.timestamp}.json")

    # ------------------------------------------------------------ val / test
    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._advance_eval_bar()
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, line = runner.log_processor.get_log_after_iter(runner, batch_idx, "val")
            runner.logger.info(line)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._advance_eval_bar()
        if self.every_n_inner_iters(batch_idx, self.interval):
            _, line = runner.log_processor.get_log_after_iter(runner, batch_idx, "test")
            runner.logger.info(line)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._stop_eval_bar()
        tag, line = runner.log_processor.get_log_after_epoch(runner, len(runner.val_dataloader), "val")
        runner.logger.info(line)
        if runner.train_loop_built and self.log_metric_by_epoch and runner.log_processor.by_epoch:
            step = runner.epoch
        else:
            step = runner.iter
        runner.visualizer.add_scalars(tag, step=step)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._stop_eval_bar()
        tag, line = runner.log_processor.get_log_after_epoch(runner, len(runner.test_dataloader), "test")
        runner.logger.info(line)
        runner.visualizer.add_scalars(tag, step=0)

    def after_run(self, runner) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        if self.out_dir is None or runner.rank != 0:
            return
        import shutil
        target = osp.join(self.out_dir, osp.basename(runner.work_dir), runner.timestamp)
        for folder, _, files in os.walk(runner.log_dir):
            for name in files:
                if name.endswith(self.out_suffix):
                    src = osp.join(folder, name)
                    dst = osp.join(target, osp.relpath(src, runner.log_dir))
                    os.makedirs(osp.dirname(dst), exist_ok=True)
                    shutil.copy2(src, dst)
                    if not self.keep_local:
                        os.remove(src)
