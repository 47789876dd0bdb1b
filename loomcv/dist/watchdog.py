"""A per-process watchdog that stops a distributed job whose rank or collective stalls.

Why: a rank that hangs (a deadlock, a slow filesystem, a rank that skipped a
collective) leaves every other rank waiting inside a collective until the
backend gives up, 30 minutes later, with no hint of where. The watchdog
gives up after ``timeout`` seconds instead, prints every thread's Python
stack, names the operation the rank was in, and ends the process so that
torchrun tears the job down.

How it stays cheap: the loops and collectives *pet* it by writing one tuple
``(phase, step, operation, time)`` to an attribute (no lock, no formatting);
a daemon thread wakes a few times per ``timeout`` and compares the clock.
While it is awake it also re-arms ``faulthandler.dump_traceback_later`` a
little past the deadline: should a C call hold the GIL so that the Python
thread cannot run, that C-level timer still dumps the stacks and exits.
"""

import datetime
import faulthandler
import functools
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import Callable, Optional, Union

from loomcv.errors import ConfigError

EXIT_CODE = 124  # like coreutils `timeout`
DEFAULT_TIMEOUT = 600.0

_monotonic = time.monotonic
_ACTIVE: Optional["Watchdog"] = None  # the running watchdog of this process, if any


def to_seconds(value: Union[None, int, float, datetime.timedelta, Mapping], owner: str = "timeout") -> float:
    """Seconds from a number, a ``timedelta`` or timedelta arguments (``dict(minutes=10)``)."""
    if value is None:
        return DEFAULT_TIMEOUT
    if isinstance(value, datetime.timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, Mapping):
        try:
            seconds = datetime.timedelta(**value).total_seconds()
        except TypeError as err:
            raise ConfigError(f"{owner}: {dict(value)} is not timedelta arguments ({err}); use e.g. "
                              f"dict(minutes=10)") from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise ConfigError(f"{owner} must be seconds, a datetime.timedelta or dict(minutes=..), "
                          f"got {type(value).__name__} {value!r}")
    if seconds <= 0:
        raise ConfigError(f"{owner} must be positive, got {value!r}")
    return seconds


def pet(phase: str, step: Optional[int] = None) -> None:
    """Tell the running watchdog (if any) that this rank made progress: now in ``phase`` ``step``."""
    dog = _ACTIVE
    if dog is not None:
        dog.last = (phase, step, None, _monotonic())


def watched(func: Callable) -> Callable:
    """Label calls of ``func`` (a collective) so that a stall inside one is reported by its name."""
    label = f"{func.__name__} ({func.__module__.replace('.', '/')}.py)"

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        dog = _ACTIVE
        if dog is None:
            return func(*args, **kwargs)
        phase, step, outer, _ = dog.last
        dog.last = (phase, step, label, _monotonic())
        try:
            return func(*args, **kwargs)
        finally:
            dog.last = (phase, step, outer, _monotonic())

    return wrapper


class Watchdog:
    """Ends this process when nothing pets it for ``timeout`` seconds.

    Use as a context manager around the work to watch (nesting is fine);
    ``enabled=False`` makes it do nothing, and so does a second watchdog
    started while another one runs in the process. ``rank`` names the process in the message (default:
    this process's rank); ``stream`` receives the message and the stacks
    (default ``sys.stderr``); ``logger`` also gets the message (and, for its
    log files, the stacks).
    """

    def __init__(self, timeout: Union[int, float, datetime.timedelta, Mapping, None] = DEFAULT_TIMEOUT,
                 enabled: bool = True, rank: Optional[int] = None, stream=None,
                 logger: Optional[logging.Logger] = None):
        self.timeout = to_seconds(timeout, "Watchdog timeout")
        self.enabled = bool(enabled)
        self._rank = rank
        self._stream = stream
        self.logger = logger
        self.last = ("start-up", None, None, _monotonic())
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._depth = 0
        self._dump_on_sigterm = False
        self._main_ident = threading.main_thread().ident

    # ------------------------------------------------------------------ life cycle
    def start(self) -> "Watchdog":
        global _ACTIVE
        if not self.enabled or self._thread is not None or _ACTIVE is not None:
            return self
        self._main_ident = threading.get_ident()
        self.last = ("start-up", None, None, _monotonic())
        self._stop.clear()
        self._thread = threading.Thread(target=self._watch, name="loomcv-watchdog", daemon=True)
        _ACTIVE = self
        self._thread.start()
        self._dump_on_sigterm = False
        stream = self._fault_stream()
        if stream is not None and threading.current_thread() is threading.main_thread():
            # torchrun ends the other ranks with SIGTERM when one fails: they print their stacks too
            faulthandler.register(signal.SIGTERM, file=stream, all_threads=True, chain=True)
            self._dump_on_sigterm = True
        return self

    def stop(self) -> None:
        global _ACTIVE
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        if _ACTIVE is self:
            _ACTIVE = None
        faulthandler.cancel_dump_traceback_later()
        if self._dump_on_sigterm:
            faulthandler.unregister(signal.SIGTERM)

    def __enter__(self) -> "Watchdog":
        self._depth += 1
        return self.start()

    def __exit__(self, *exc) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    # ------------------------------------------------------------------ the thread
    def _watch(self) -> None:
        interval = min(1.0, self.timeout / 10)
        stream = self._fault_stream()
        while not self._stop.wait(interval):
            elapsed = _monotonic() - self.last[3]
            if elapsed > self.timeout:
                self._fire(elapsed, stream)
                return
            if stream is not None:  # the backstop for a GIL held forever
                faulthandler.dump_traceback_later(self.timeout - elapsed + 2 * interval + 2.0, exit=True,
                                                  file=stream)

    def _fault_stream(self):
        """A stream with a file descriptor for faulthandler, or None."""
        for stream in (self._stream or sys.stderr, sys.__stderr__):
            try:
                stream.fileno()
                return stream
            except (AttributeError, OSError, ValueError):
                continue
        return None

    def describe(self, elapsed: float) -> str:
        """The one-line report: who stalled, for how long, in what, and where the main thread is."""
        phase, step, op, _ = self.last
        rank = self._rank
        if rank is None:
            from .info import get_rank
            rank = get_rank()
        during = f"{phase} iteration {step}" if step is not None else phase
        what = f"waited {elapsed:.1f} s in {op} during {during}" if op else \
            f"made no progress for {elapsed:.1f} s during {during}"
        return (f"loomcv watchdog: rank {rank} {what} (timeout {self.timeout:g} s, "
                f"env_cfg.dist_cfg.timeout); main thread {self._where()}. "
                f"Stopping this process (exit code {EXIT_CODE}); the stacks of all its threads follow.")

    def _where(self) -> str:
        frame = sys._current_frames().get(self._main_ident)
        if frame is None:
            return "not found"
        top, ours = frame, None
        while frame is not None:
            path = frame.f_code.co_filename.replace(os.sep, "/")
            if ours is None and "/loomcv/" in path and not path.endswith("/loomcv/dist/watchdog.py"):
                ours = frame
            frame = frame.f_back
        text = f"at {_frame_text(top)}"
        if ours is not None and ours is not top:
            text += f", called from {_frame_text(ours)}"
        return text

    def _fire(self, elapsed: float, stream) -> None:
        faulthandler.cancel_dump_traceback_later()
        message = self.describe(elapsed)
        out = self._stream or sys.stderr
        try:
            out.write(message + "\n")
            out.flush()
        except Exception:  # a closed stream must not keep the process alive
            pass
        if stream is not None:
            faulthandler.dump_traceback(file=stream, all_threads=True)
            stream.flush()
        if self.logger is not None:
            self.logger.error(message)
            for handler in self.logger.handlers:
                target = getattr(handler, "stream", None)
                if isinstance(handler, logging.FileHandler) and target is not None:
                    handler.flush()
                    faulthandler.dump_traceback(file=target, all_threads=True)
                handler.flush()
        os._exit(EXIT_CODE)


def _frame_text(frame) -> str:
    return f"{frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}"


def build_watchdog(dist_cfg: Optional[Mapping], distributed: bool, rank: int = 0,
                   logger: Optional[logging.Logger] = None) -> Watchdog:
    """The runner's watchdog from ``env_cfg.dist_cfg``: ``timeout`` (seconds, default 600) and
    ``watchdog`` (None: on when distributed; True: always; False: off)."""
    cfg = dict(dist_cfg or {})
    switch = cfg.get("watchdog")
    if switch not in (None, True, False):
        raise ConfigError(f"env_cfg.dist_cfg.watchdog must be None, True or False, got {switch!r}")
    enabled = distributed if switch is None else switch
    return Watchdog(to_seconds(cfg.get("timeout"), "env_cfg.dist_cfg.timeout"), enabled=enabled, rank=rank,
                    logger=logger)


def backend_timeout(dist_cfg: Optional[Mapping]) -> datetime.timedelta:
    """The process group's timeout: the watchdog's plus a margin, so that the watchdog (which names
    the operation and prints the stacks) speaks first and the backend's own timeout is the backstop."""
    cfg = dict(dist_cfg or {})
    seconds = to_seconds(cfg.get("timeout"), "env_cfg.dist_cfg.timeout")
    if cfg.get("watchdog") is not False:
        seconds += max(5.0, 0.1 * seconds)
    return datetime.timedelta(seconds=seconds)
