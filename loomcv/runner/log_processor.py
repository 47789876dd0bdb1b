"""LogProcessor: turn the MessageHub's scalars into log lines and scalar tags.

Train lines look like
``Epoch(train) [3][ 40/100]  lr: 1.0000e-02  eta: 0:01:12  time: 0.0510  data_time: 0.0030  loss: 0.4120``
(``Iter(train) [ 40/1000]  ...`` when ``by_epoch=False``); validation ends with
the metrics of the pass (of every set, as ``set/metric``, when there are
several). Losses and times are smoothed over ``window_size`` iterations;
``custom_cfg`` picks other statistics per scalar.
"""

import datetime
import re
from collections import OrderedDict
from typing import Any, List, Optional, Sequence, Tuple

import torch

from loomcv.errors import ConfigError, did_you_mean
from loomcv.logging import HistoryBuffer
from loomcv.registry import LOG_PROCESSORS

_METHODS = ("mean", "min", "max", "current")


@LOG_PROCESSORS.register_module()
class LogProcessor:
    """Args:
        window_size: iterations to smooth losses and times over.
        by_epoch: write ``Epoch(train) [e][i/n]`` (True) or ``Iter(train) [i/N]`` (False).
        custom_cfg: ``[dict(data_src='loss', method_name='max', window_size='global',
            log_name='loss_max')]``; window_size is an int, ``'epoch'`` or ``'global'``;
            without ``log_name`` the statistic replaces the default one.
        num_digits: digits after the point for scalars other than learning rates.
        mean_pattern: scalars whose names match are averaged over the window; others show
            their latest value.
    """

    def __init__(self, window_size: int = 10, by_epoch: bool = True,
                 custom_cfg: Optional[Sequence[dict]] = None, num_digits: int = 4,
                 log_with_hierarchy: bool = False,
                 mean_pattern: str = r".*(loss|time|data_time|grad_norm).*"):
        if not isinstance(window_size, int) or window_size < 1:
            raise ConfigError(f"LogProcessor: window_size must be a positive int, got {window_size!r}")
        self.window_size = window_size
        self.by_epoch = by_epoch
        self.num_digits = num_digits
        self.log_with_hierarchy = log_with_hierarchy
        self.mean_pattern = re.compile(mean_pattern)
        self.custom_cfg = self._check_custom_cfg(custom_cfg or [])

    @staticmethod
    def _check_custom_cfg(custom_cfg: Sequence[dict]) -> List[dict]:
        checked, replaced = [], set()
        for i, item in enumerate(custom_cfg):
            item = dict(item)
            where = f"LogProcessor custom_cfg[{i}]"
            if "data_src" not in item:
                raise ConfigError(f"{where} needs 'data_src' (the scalar name, e.g. 'loss'); got {item}")
            method = item.get("method_name", "mean")
            methods = HistoryBuffer.statistic_names()
            if method not in methods:
                raise ConfigError(f"{where}: method_name {method!r} is not one of {methods} (add one with "
                                  f"@HistoryBuffer.register_statistics).{did_you_mean(str(method), methods)}")
            window = item.get("window_size", None)
            if not (window in (None, "epoch", "global") or (isinstance(window, int) and window > 0)):
                raise ConfigError(f"{where}: window_size must be a positive int, 'epoch' or 'global', "
                                  f"got {window!r}")
            unknown = set(item) - {"data_src", "method_name", "window_size", "log_name"}
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; valid: data_src, "
                                  f"method_name, window_size, log_name")
            if "log_name" not in item:
                if item["data_src"] in replaced:
                    raise ConfigError(f"{where}: {item['data_src']!r} is already replaced by an earlier "
                                      f"item; give this one a 'log_name'")
                replaced.add(item["data_src"])
            item["method_name"] = method
            checked.append(item)
        return checked

    # ---------------------------------------------------------------- statistics
    def _statistic(self, buffer, method: str, window: Any, batch_idx: int) -> float:
        if method == "current":
            return buffer.current()
        if window == "epoch":
            window = batch_idx + 1
        elif window == "global":
            window = None
        elif window is None:
            window = self.window_size
        if method not in _METHODS:  # registered with HistoryBuffer.register_statistics
            return buffer.statistics(method, window)
        return getattr(buffer, method)(window)

    def _collect(self, runner, mode: str, batch_idx: int, window_size: Optional[int]) -> "OrderedDict[str, float]":
        """``{name: value}`` for every scalar of ``mode`` ('train/loss' -> 'loss')."""
        prefix = f"{mode}/"
        scalars = runner.message_hub.log_scalars
        custom = {c["data_src"]: c for c in self.custom_cfg if "log_name" not in c}
        out: "OrderedDict[str, float]" = OrderedDict()
        for key, buffer in scalars.items():
            if not key.startswith(prefix) or not len(buffer):
                continue
            name = key[len(prefix):]
            if name in custom:
                cfg = custom[name]
                out[name] = self._statistic(buffer, cfg["method_name"], cfg.get("window_size"), batch_idx)
            elif self.mean_pattern.match(name):
                out[name] = buffer.mean(window_size)
            else:
                out[name] = buffer.current()
        for cfg in self.custom_cfg:
            if "log_name" in cfg and prefix + cfg["data_src"] in scalars:
                buffer = scalars[prefix + cfg["data_src"]]
                out[cfg["log_name"]] = self._statistic(buffer, cfg["method_name"], cfg.get("window_size"),
                                                       batch_idx)
        return out

    def _format(self, name: str, value: Any) -> str:
        if isinstance(value, float):
            text = f"{value:.4e}" if "lr" in name else f"{value:.{self.num_digits}f}"
        else:
            text = str(value)
        return f"{name}: {text}"

    # ---------------------------------------------------------------- public
    def get_log_after_iter(self, runner, batch_idx: int, mode: str) -> Tuple[dict, str]:
        """The tag dict (for vis backends) and the log line after iteration ``batch_idx`` of ``mode``."""
        values = self._collect(runner, mode, batch_idx, self.window_size)
        if mode != "train":  # metrics of earlier passes are not per-iteration values
            values = OrderedDict((k, v) for k, v in values.items() if k in ("time", "data_time"))
        if mode == "train":
            if self.by_epoch:
                total = len(runner.train_dataloader)
                head = (f"Epoch(train) [{runner.epoch + 1}][{batch_idx + 1:>{len(str(total))}}/{total}]")
            else:
                total = runner.max_iters
                head = f"Iter(train) [{runner.iter + 1:>{len(str(total))}}/{total}]"
        else:
            total = len(getattr(runner, f"{mode}_dataloader"))
            loop = getattr(runner, f"{mode}_loop", None)
            name = f" [{loop.prefix}]" if len(getattr(loop, "sets", ())) > 1 else ""
            head = f"Epoch({mode}){name} [{batch_idx + 1:>{len(str(total))}}/{total}]"
        parts = [head]
        lr_names = [k for k in values if "lr" in k]
        parts += [self._format(k, values[k]) for k in lr_names]
        eta = runner.message_hub.get_info("eta")
        if mode == "train" and eta is not None:
            parts.append(f"eta: {datetime.timedelta(seconds=int(eta))}")
        ordered = [k for k in ("time", "data_time") if k in values]
        ordered += [k for k in values if k not in lr_names and k not in ordered]
        parts += [self._format(k, values[k]) for k in ordered]
        if torch.cuda.is_available():
            memory = torch.cuda.max_memory_allocated() // (1024 * 1024)
            torch.cuda.reset_peak_memory_stats()
            parts.append(f"memory: {memory}")
            values["memory"] = memory
        tag = OrderedDict(values)
        if mode == "train":
            tag["epoch"] = runner.epoch + (1 if self.by_epoch else 0)
            tag["iter"] = runner.iter + 1
        return self._hierarchy(tag, mode), "  ".join(parts)

    def get_log_after_epoch(self, runner, batch_idx: int, mode: str,
                            with_non_scalar: bool = False) -> Tuple[dict, str]:
        """Tag and line after a val/test pass: the metrics, then the mean times of the pass."""
        loop = getattr(runner, f"{mode}_loop", None)
        # batches of the whole pass: all validation/test sets together
        total = getattr(loop, "num_batches", None) or len(getattr(runner, f"{mode}_dataloader"))
        values = self._collect(runner, mode, batch_idx, total)
        metrics = runner.message_hub.get_info(f"{mode}_metrics", {}) or {}
        if mode == "val" and runner.train_loop_built:
            head = (f"Epoch({mode}) [{runner.epoch}][{total}/{total}]" if self.by_epoch
                    else f"Iter({mode}) [{total}/{total}]")
        else:
            head = f"Epoch({mode}) [{total}/{total}]"
        metric_values = OrderedDict((k, v) for k, v in metrics.items())
        times = OrderedDict((k, values[k]) for k in ("data_time", "time") if k in values)
        parts = [head] + [self._format(k, self._scalar(v)) for k, v in metric_values.items()
                          if with_non_scalar or _is_scalar(v)]
        parts += [self._format(k, v) for k, v in times.items()]
        tag = OrderedDict((k, self._scalar(v)) for k, v in metric_values.items() if _is_scalar(v))
        tag.update(times)
        return self._hierarchy(tag, mode), "    ".join(parts[:1]) + ("    " if len(parts) > 1 else "") + \
            "  ".join(parts[1:])

    @staticmethod
    def _scalar(value: Any) -> Any:
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            return value.item()
        if hasattr(value, "item") and getattr(value, "size", 2) == 1:
            return value.item()
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    def _hierarchy(self, tag: dict, mode: str) -> dict:
        if not self.log_with_hierarchy:
            return dict(tag)
        return {(k if k in ("epoch", "iter") else f"{mode}/{k}"): v for k, v in tag.items()}


def _is_scalar(value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    numel = getattr(value, "numel", None)
    if callable(numel):
        return numel() == 1
    return getattr(value, "size", None) == 1 and hasattr(value, "item")
