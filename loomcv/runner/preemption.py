"""Stopping training cleanly on SIGTERM/SIGINT (a cluster preempting the job, or Ctrl-C).

The first signal only sets a flag; the train loop finishes the current
iteration, saves a checkpoint marked as the latest and raises
:class:`TrainingInterrupted`, so ``resume='auto'`` continues exactly there. A
second signal stops at once (KeyboardInterrupt).
"""

import signal
import threading
from contextlib import contextmanager
from typing import Optional


class TrainingInterrupted(SystemExit):
    """Raised after SIGTERM/SIGINT once the current iteration is done and a checkpoint is saved.

    A SystemExit with code 128 + signal number, so a script ends non-zero
    without a traceback and ``resume='auto'`` continues from the saved state.
    """

    def __init__(self, signum: int, checkpoint: str):
        super().__init__(128 + signum)
        self.signum = signum
        self.checkpoint = checkpoint


class Preemption:
    """The stop flag of one runner, the signal handlers that set it, and the save-and-exit."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, runner):
        self._runner = runner
        self.signum: Optional[int] = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @contextmanager
    def handlers(self):
        """Catch the stop signals while the block runs (only the main thread may install handlers)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self.signum is not None:
                signal.signal(signum, signal.SIG_DFL)
                raise KeyboardInterrupt
            self.signum = signum

        previous = {sig: signal.signal(sig, handler) for sig in self.SIGNALS}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def save_and_exit(self) -> None:
        """Save where training stands, mark it as the latest checkpoint, raise TrainingInterrupted."""
        runner = self._runner
        loop = runner.train_loop
        state = loop.state()
        runner.logger.warning(f"received {signal.Signals(self.signum).name}: saving a checkpoint after "
                              f"iteration {state['iter']} and stopping")
        path = runner.save_checkpoint(runner.work_dir, f"iter_{state['iter']}.pth", position=state,
                                      mark_latest=True)
        runner.logger.warning(f"saved {path}; continue with resume='auto' (loomcv train ... --resume)")
        raise TrainingInterrupted(self.signum, path)
