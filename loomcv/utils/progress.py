"""Progress bars and timers: the ones :mod:`loomcv.logging` provides, under ``loomcv.utils`` as MMEngine has them."""

from loomcv.logging.progress import ProgressBar, init_pool, track_iter_progress, track_parallel_progress, track_progress
from loomcv.logging.timer import Timer, TimerError, check_time

__all__ = ["ProgressBar", "init_pool", "track_progress", "track_iter_progress", "track_parallel_progress", "Timer",
           "TimerError", "check_time"]
