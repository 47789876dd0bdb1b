"""Logging: the run's logger, the message hub and its history buffers."""

from .history_buffer import HistoryBuffer
from .logger import LoomLogger, get_logger, print_log
from .manager import ManagerMixin
from .message_hub import MessageHub

__all__ = ["HistoryBuffer", "LoomLogger", "get_logger", "print_log", "ManagerMixin", "MessageHub"]
