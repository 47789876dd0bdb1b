"""LoomLogger: one named logger writing to the console and to the run's log file.

Rank-aware: rank 0 logs at ``log_level``; other ranks print warnings and
errors only and write no file, unless ``distributed=True`` (then each rank
logs fully, to ``<log_file stem>_rank<r><suffix>``).
"""

import logging
import os
import os.path as osp
import sys
from typing import Optional, Union

from loomcv.errors import did_you_mean

from .manager import ManagerMixin

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATE_FORMAT = "%Y/%m/%d %H:%M:%S"


def _level(value: Union[int, str], owner: str) -> int:
    if isinstance(value, int):
        return value
    upper = str(value).upper()
    if upper not in LEVELS:
        raise ValueError(f"{owner}: unknown log_level {value!r}; valid levels: {', '.join(LEVELS)}"
                         f"{did_you_mean(upper, LEVELS, 1)}")
    return getattr(logging, upper)


def _rank() -> int:
    """The process rank, without importing torch when it is not loaded yet."""
    dist = sys.modules.get("torch.distributed")
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", 0))


class _Formatter(logging.Formatter):
    """``2024/01/02 03:04:05 - loomcv - message``; the level name only from WARNING up on the console."""

    def __init__(self, always_level: bool):
        super().__init__(datefmt=DATE_FORMAT)
        self.always_level = always_level

    def format(self, record: logging.LogRecord) -> str:
        head = f"{self.formatTime(record, self.datefmt)} - {record.name} - "
        if self.always_level or record.levelno >= logging.WARNING:
            head += f"{record.levelname} - "
        text = head + record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stdout`` is at the time (so redirection and captures see it)."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass


class LoomLogger(logging.Logger, ManagerMixin):
    """A ``logging.Logger`` kept under an instance name (see ``get_instance``).

    Args:
        name: instance name (``LoomLogger.get_instance(name)`` finds it again).
        logger_name: the name printed in each line (default 'loomcv').
        log_file: also log to this file (its folder is created); rank 0 only
            unless ``distributed``.
        log_level: 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL' (or an int).
        file_mode: 'w' to start the file afresh, 'a' to append.
        distributed: log fully on every rank, each rank to its own file.
    """

    def __init__(self, name: str, logger_name: str = "loomcv", log_file: Optional[str] = None,
                 log_level: Union[int, str] = "INFO", file_mode: str = "w", distributed: bool = False):
        logging.Logger.__init__(self, logger_name)
        ManagerMixin.__init__(self, name)
        level = _level(log_level, "LoomLogger")
        self.propagate = False
        rank = _rank()
        console = _StdoutHandler()
        console.setFormatter(_Formatter(always_level=False))
        self._console = console
        self._quiet_console = rank != 0 and not distributed
        self.addHandler(console)
        self.log_file = None
        if log_file is not None and (rank == 0 or distributed):
            if rank != 0:
                stem, ext = osp.splitext(log_file)
                log_file = f"{stem}_rank{rank}{ext}"
            if file_mode not in ("w", "a"):
                raise ValueError(f"LoomLogger: file_mode must be 'w' or 'a', got {file_mode!r}")
            os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
            handler = logging.FileHandler(log_file, file_mode, encoding="utf-8")
            handler.setFormatter(_Formatter(always_level=True))
            self.addHandler(handler)
            self.log_file = log_file
        self.set_level(level)

    @classmethod
    def get_current_instance(cls) -> "LoomLogger":
        """The latest logger; a default one named 'loomcv' when none exists yet."""
        if not any(isinstance(o, cls) for o in cls._instances.values()):
            return cls.get_instance("loomcv")
        return super().get_current_instance()

    def set_level(self, log_level: Union[int, str]) -> None:
        """Change the level of the logger and of its handlers (warning-only consoles stay so)."""
        level = _level(log_level, "LoomLogger.set_level")
        self.setLevel(level)
        for handler in self.handlers:
            quiet = handler is self._console and self._quiet_console
            handler.setLevel(max(level, logging.WARNING) if quiet else level)

    def close(self) -> None:
        """Close and drop the file handler(s); the console keeps working."""
        for handler in list(self.handlers):
            if isinstance(handler, logging.FileHandler):
                handler.close()
                self.removeHandler(handler)

    def __reduce__(self):
        # loggers are process-global; pickling one (e.g. inside a hook) re-finds it by name
        return (LoomLogger.get_instance, (self.instance_name,))


def get_logger(name: str, log_file: Optional[str] = None, log_level: Union[int, str] = "INFO",
               **kwargs) -> LoomLogger:
    """Shorthand for ``LoomLogger.get_instance(name, log_file=..., log_level=...)``."""
    return LoomLogger.get_instance(name, log_file=log_file, log_level=log_level, **kwargs)


def print_log(msg, logger: Union[None, str, logging.Logger] = None, level: int = logging.INFO) -> None:
    """Log ``msg`` through ``logger``.

    ``logger`` may be None (plain ``print``), 'silent' (drop it), 'current'
    (the latest LoomLogger), the instance name of a LoomLogger, or any
    ``logging.Logger``.
    """
    if logger is None:
        print(msg)
    elif isinstance(logger, logging.Logger):
        logger.log(level, msg)
    elif logger == "silent":
        return
    elif logger == "current":
        LoomLogger.get_current_instance().log(level, msg)
    elif isinstance(logger, str):
        LoomLogger.instance_or_error(logger).log(level, msg)
    else:
        raise TypeError(f"print_log: logger must be None, 'silent', 'current', a logger instance name "
                        f"or a logging.Logger, got {type(logger).__name__}: {logger!r}")
