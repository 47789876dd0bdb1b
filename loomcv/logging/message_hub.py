"""MessageHub: where hooks, loops and the log processor exchange scalars and run info.

``log_scalars`` holds a HistoryBuffer per key ('train/loss', 'train/lr', ...);
``runtime_info`` holds plain values ('epoch', 'iter', 'max_iters', ...).
``state_dict()`` carries both into checkpoints so a resumed run logs on
seamlessly; it contains only plain Python values (safe for weights_only loads).
"""

import copy
import logging
from collections import OrderedDict
from typing import Any, Mapping, Optional, Union

from loomcv.errors import did_you_mean

from .history_buffer import HistoryBuffer
from .logger import print_log
from .manager import ManagerMixin


class MessageHub(ManagerMixin):
    """Args:
        name: instance name.
        log_scalars, runtime_info: initial contents.
        resumed_keys: ``{key: bool}``; keys marked False are left out of ``state_dict``.
    """

    def __init__(self, name: str, log_scalars: Optional[Mapping[str, HistoryBuffer]] = None,
                 runtime_info: Optional[Mapping[str, Any]] = None,
                 resumed_keys: Optional[Mapping[str, bool]] = None):
        super().__init__(name)
        self._log_scalars: "OrderedDict[str, HistoryBuffer]" = OrderedDict(log_scalars or {})
        self._runtime_info: "OrderedDict[str, Any]" = OrderedDict(runtime_info or {})
        self._resumed_keys: "OrderedDict[str, bool]" = OrderedDict(resumed_keys or {})
        for key in list(self._log_scalars) + list(self._runtime_info):
            self._resumed_keys.setdefault(key, True)

    @classmethod
    def get_current_instance(cls) -> "MessageHub":
        """The latest hub; a default one named 'loomcv' when none exists yet."""
        if not any(isinstance(o, cls) for o in cls._instances.values()):
            return cls.get_instance("loomcv")
        return super().get_current_instance()

    # -- scalars -------------------------------------------------------------------------
    def update_scalar(self, key: str, value: Any, count: int = 1, resumed: bool = True) -> None:
        """Append ``value`` (number or one-element tensor, kept lazy) to the buffer ``key``."""
        buffer = self._log_scalars.get(key)
        if buffer is None:
            buffer = self._log_scalars[key] = HistoryBuffer()
        buffer.update(value, count)
        self._resumed_keys[key] = resumed

    def update_scalars(self, log_dict: Mapping[str, Any], resumed: bool = True) -> None:
        """Update several buffers; a value may be ``dict(value=v, count=n)``."""
        if not isinstance(log_dict, Mapping):
            raise TypeError(f"MessageHub.update_scalars takes a dict, got {type(log_dict).__name__}")
        for key, value in log_dict.items():
            if isinstance(value, Mapping):
                if "value" not in value:
                    raise KeyError(f"MessageHub.update_scalars: {key!r} is a dict without a 'value' key")
                self.update_scalar(key, value["value"], value.get("count", 1), resumed)
            else:
                self.update_scalar(key, value, 1, resumed)

    def get_scalar(self, key: str) -> HistoryBuffer:
        if key not in self._log_scalars:
            raise KeyError(f"MessageHub {self.instance_name!r} has no scalar {key!r}"
                           f"{did_you_mean(key, self._log_scalars)}")
        return self._log_scalars[key]

    @property
    def log_scalars(self) -> "OrderedDict[str, HistoryBuffer]":
        return self._log_scalars

    # -- runtime info --------------------------------------------------------------------
    def update_info(self, key: str, value: Any, resumed: bool = True) -> None:
        self._runtime_info[key] = value
        self._resumed_keys[key] = resumed

    def update_info_dict(self, info_dict: Mapping[str, Any], resumed: bool = True) -> None:
        for key, value in info_dict.items():
            self.update_info(key, value, resumed)

    def get_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.get(key, default)

    def pop_info(self, key: str, default: Any = None) -> Any:
        return self._runtime_info.pop(key, default)

    @property
    def runtime_info(self) -> "OrderedDict[str, Any]":
        return self._runtime_info

    # -- resume --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """Resumable scalars (as plain lists) and runtime info; values that cannot be copied are skipped."""
        scalars = {k: b.state_dict() for k, b in self._log_scalars.items() if self._resumed_keys.get(k, True)}
        info = {}
        for key, value in self._runtime_info.items():
            if not self._resumed_keys.get(key, True):
                continue
            try:
                info[key] = copy.deepcopy(value)
            except Exception as err:  # e.g. an open file: not worth failing a checkpoint for
                print_log(f"MessageHub: runtime info {key!r} is not copyable and is left out of the "
                          f"checkpoint ({type(err).__name__}: {err})", "current", logging.WARNING)
        return dict(log_scalars=scalars, runtime_info=info,
                    resumed_keys={k: v for k, v in self._resumed_keys.items() if v})

    def load_state_dict(self, state: Union[dict, "MessageHub"]) -> None:
        """Restore from ``state_dict()`` output (or from another hub); existing keys are replaced.

        A checkpoint written by another program may hold entries this hub cannot use (a scalar
        that is not a history buffer, a missing section): each is skipped with a warning, as
        MMEngine does, so resuming never fails on the message hub alone.
        """
        if isinstance(state, MessageHub):
            state = state.state_dict()
        if not isinstance(state, Mapping):
            raise TypeError(f"MessageHub.load_state_dict takes a dict from state_dict() or a MessageHub, "
                            f"got {type(state).__name__}")
        sections = {}
        for name in ("log_scalars", "runtime_info"):
            section = state.get(name, {})
            if not isinstance(section, Mapping):
                _skip(f"its {name!r} is a {type(section).__name__}, not a dict")
                section = {}
            elif name not in state:
                _skip(f"it has no {name!r}")
            sections[name] = section
        for key, buf in sections["log_scalars"].items():
            try:
                self._log_scalars[key] = (copy.deepcopy(buf) if isinstance(buf, HistoryBuffer)
                                          else HistoryBuffer.from_state_dict(buf))
            except (KeyError, TypeError, ValueError, AttributeError) as err:
                _skip(f"scalar {key!r} is not a history buffer ({type(err).__name__}: {err})")
                continue
            self._resumed_keys[key] = True
        for key, value in sections["runtime_info"].items():
            try:
                self._runtime_info[key] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 - an uncopyable value is kept as it is
                self._runtime_info[key] = value
            self._resumed_keys[key] = True


def _skip(what: str) -> None:
    print_log(f"MessageHub.load_state_dict: {what}; skipped", "current", logging.WARNING)
