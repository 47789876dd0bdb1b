"""Logging: the run's logger, the message hub and its history buffers."""

from .history_buffer import HistoryBuffer
from .logger import LoomLogger, get_logger, print_log
from .manager import ManagerMixin
from .message_hub import MessageHub

#: MMEngine's name for the run's logger class
MMLogger = LoomLogger

__all__ = ["HistoryBuffer", "LoomLogger", "MMLogger", "get_logger", "print_log", "ManagerMixin", "MessageHub"]
