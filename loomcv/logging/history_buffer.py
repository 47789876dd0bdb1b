"""HistoryBuffer: the recent values of one logged scalar, with their counts.

Tensors are stored as they come (detached, no ``.item()``), so updating from
a training step never waits for the device; they become floats the first time
a statistic is read, all of one device in a single transfer.
"""

import sys
from collections import deque
from itertools import islice
from typing import Any, Callable, Deque, Dict, Iterable, Optional, Tuple

import numpy as np


_TENSOR_KINDS: set = set()  # tensor classes seen so far: later updates recognise them by type alone


def _is_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        _TENSOR_KINDS.add(type(value))
        return True
    return False


class HistoryBuffer:
    """Keeps the last ``max_length`` values; each value is the mean of ``count`` items.

    ``mean(window)`` weights values by their counts, so a loss logged as a batch
    mean with ``count=batch_size`` averages per sample.
    """

    def __init__(self, log_history: Iterable = (), count_history: Iterable = (),
                 max_length: int = 1000000):
        self.max_length = int(max_length)
        self._values: Deque = deque(maxlen=self.max_length)
        self._counts: Deque[float] = deque(maxlen=self.max_length)
        self._pending = False   # some of the last ``_unread`` values may be tensors
        self._unread = 0
        log_history, count_history = list(log_history), list(count_history)
        if count_history and len(count_history) != len(log_history):
            raise ValueError(f"HistoryBuffer: log_history has {len(log_history)} values but "
                             f"count_history has {len(count_history)}")
        for i, value in enumerate(log_history):
            self.update(value, count_history[i] if count_history else 1)

    def update(self, value: Any, count: int = 1) -> None:
        """Append ``value`` (a number or a one-element tensor) seen ``count`` times."""
        kind = type(value)
        if kind is float:  # the per-iteration timers and learning rates: no checks needed
            pass
        elif kind in _TENSOR_KINDS or _is_tensor(value):
            if value.numel() != 1:
                raise ValueError(f"HistoryBuffer.update takes a number or a one-element tensor, "
                                 f"got a tensor of shape {tuple(value.shape)}")
            if value.requires_grad:
                value = value.detach()
            self._pending = True
        elif isinstance(value, (int, float, np.number)) and kind is not bool:
            value = float(value)
        elif isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
            value = float(value.reshape(-1)[0])  # a metric computed with numpy, e.g. np.array([0.5])
        else:
            raise TypeError(f"HistoryBuffer.update takes a number, a one-element tensor or a one-element "
                            f"numpy array, got {kind.__name__}: {value!r}")
        if type(count) is not int and _is_tensor(count):
            count = count.item()
        self._values.append(value)
        self._counts.append(count)
        self._unread += 1

    def _materialize(self) -> None:
        """Turn the stored tensors into floats, one device transfer per device."""
        if not self._pending:
            self._unread = 0
            return
        import torch
        tail = [self._values.pop() for _ in range(min(self._unread, len(self._values)))][::-1]
        by_device = {}
        for i, v in enumerate(tail):
            if isinstance(v, torch.Tensor):
                by_device.setdefault(v.device, []).append(i)
        for indices in by_device.values():
            try:  # one-element tensors of one shape (losses are 0-d): a single stack, no per-value work
                floats = torch.stack([tail[i] for i in indices]).reshape(-1).tolist()
            except RuntimeError:   # mixed shapes or dtypes that stack refuses: one by one
                floats = [tail[i].double().item() for i in indices]
            for i, f in zip(indices, floats):
                tail[i] = f
        self._values.extend(tail)
        self._pending = False
        self._unread = 0

    def _window(self, window: Optional[int]) -> Tuple[np.ndarray, np.ndarray]:
        """The last ``window`` values and counts (all when None), oldest first."""
        self._materialize()
        if window is None:
            return np.asarray(self._values, dtype=np.float64), np.asarray(self._counts, dtype=np.float64)
        if int(window) < 1:
            raise ValueError(f"HistoryBuffer: window must be a positive int or None, got {window!r}")
        n = min(int(window), len(self._values))
        values = np.fromiter(islice(reversed(self._values), n), np.float64, n)[::-1]
        counts = np.fromiter(islice(reversed(self._counts), n), np.float64, n)[::-1]
        return values, counts

    def _nonempty(self, what: str) -> None:
        if not self._values:
            raise ValueError(f"HistoryBuffer.{what}() of an empty buffer")

    def mean(self, window: Optional[int] = None) -> float:
        """Count-weighted mean of the last ``window`` values (all when None)."""
        self._nonempty("mean")
        values, counts = self._window(window)
        total = counts.sum()
        return float((values * counts).sum() / total) if total else float(values.mean())

    def current(self) -> float:
        """The latest value."""
        self._nonempty("current")
        self._materialize()
        return float(self._values[-1])

    def max(self, window: Optional[int] = None) -> float:
        self._nonempty("max")
        return float(self._window(window)[0].max())

    def min(self, window: Optional[int] = None) -> float:
        self._nonempty("min")
        return float(self._window(window)[0].min())

    STATISTICS = ("mean", "current", "max", "min")
    #: statistics added with :meth:`register_statistics`, by name
    _statistics_methods: Dict[str, Callable] = {}

    @classmethod
    def register_statistics(cls, method: Callable) -> Callable:
        """Decorator: make ``method(buffer, *args)`` a statistic named after the function, usable
        as ``buffer.statistics(name)`` and as a LogProcessor ``custom_cfg`` ``method_name``."""
        name = getattr(method, "__name__", None)
        if not callable(method) or not name:
            raise TypeError(f"HistoryBuffer.register_statistics takes a named function, got {method!r}")
        if name in cls.STATISTICS or name in cls._statistics_methods:
            raise KeyError(f"HistoryBuffer: a statistic named {name!r} is already registered")
        cls._statistics_methods[name] = method
        return method

    @classmethod
    def statistic_names(cls) -> Tuple[str, ...]:
        return cls.STATISTICS + tuple(cls._statistics_methods)

    def statistics(self, method: str, *args, **kwargs) -> Any:
        """Call a statistic by name: 'mean', 'current', 'max', 'min' or a registered one."""
        if method in self._statistics_methods:
            return self._statistics_methods[method](self, *args, **kwargs)
        if method not in self.STATISTICS:
            raise ValueError(f"HistoryBuffer has no statistic {method!r}; valid: {', '.join(self.statistic_names())}"
                             f" (add one with @HistoryBuffer.register_statistics)")
        return getattr(self, method)(*args, **kwargs)

    @property
    def data(self) -> Tuple[np.ndarray, np.ndarray]:
        """``(values, counts)`` as float64 arrays."""
        return self._window(None)

    def __len__(self) -> int:
        return len(self._values)

    def state_dict(self) -> dict:
        """Plain lists and numbers only, so checkpoints load with ``weights_only=True``."""
        self._materialize()
        return dict(log_history=list(self._values), count_history=list(self._counts),
                    max_length=self.max_length)

    @classmethod
    def from_state_dict(cls, state: dict) -> "HistoryBuffer":
        return cls(state["log_history"], state["count_history"], state.get("max_length", 1000000))

    def __repr__(self) -> str:
        n = len(self)
        return f"HistoryBuffer(len={n}" + (f", current={self.current():.4g})" if n else ")")
