"""Timer and check_time: wall-clock timing for scripts (MMCV's names and behaviour)."""

from time import perf_counter
from typing import Dict, Optional


class TimerError(Exception):
    """A Timer was read before it was started."""


class Timer:
    """Measures seconds since :meth:`start` and since the last check.

    As a context manager it starts on entry and prints the elapsed time on
    exit, formatted with ``print_tmpl`` (default ``'{:.3f}'``).
    """

    def __init__(self, start: bool = True, print_tmpl: Optional[str] = None):
        self._is_running = False
        self.print_tmpl = print_tmpl if print_tmpl else "{:.3f}"
        if start:
            self.start()

    @property
    def is_running(self) -> bool:
        return self._is_running

    def __enter__(self) -> "Timer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        print(self.print_tmpl.format(self.since_last_check()))
        self._is_running = False

    def start(self) -> None:
        """Start (a running timer keeps its start time)."""
        if not self._is_running:
            self._t_start = perf_counter()
            self._is_running = True
        self._t_last = perf_counter()

    def since_start(self) -> float:
        """Seconds since :meth:`start`; also counts as a check."""
        if not self._is_running:
            raise TimerError("Timer: the timer is not running; call start() first")
        self._t_last = perf_counter()
        return self._t_last - self._t_start

    def since_last_check(self) -> float:
        """Seconds since the last check (or the start)."""
        if not self._is_running:
            raise TimerError("Timer: the timer is not running; call start() first")
        now = perf_counter()
        elapsed = now - self._t_last
        self._t_last = now
        return elapsed


_timers: Dict[str, Timer] = {}


def check_time(timer_id: str) -> float:
    """Seconds since the previous call with the same ``timer_id``; the first call starts it and returns 0."""
    if timer_id not in _timers:
        _timers[timer_id] = Timer()
        return 0.0
    return _timers[timer_id].since_last_check()
