"""EarlyStoppingHook: stop training when a validation metric stops improving."""

import math
from typing import Optional

from loomcv.errors import ConfigError, did_you_mean
from loomcv.registry import HOOKS
from loomcv.validation import check_choice

from .checkpoint_hook import GREATER_KEYS, LESS_KEYS
from .hook import Hook


@HOOKS.register_module()
class EarlyStoppingHook(Hook):
    """Args:
        monitor: the metric key to watch (e.g. ``'accuracy/top1'``).
        rule: ``'greater'`` or ``'less'``; inferred from the key when None.
        min_delta: the smallest change that counts as an improvement.
        patience: validations without improvement before stopping.
        strict: an absent ``monitor`` is an error (else a warning and no check).
        check_finite: stop when the metric becomes NaN or infinite.
        stopping_threshold: stop as soon as the metric reaches this value.
    """

    priority = "LOWEST"

    def __init__(self, monitor: str, rule: Optional[str] = None, min_delta: float = 0.1, strict: bool = False,
                 check_finite: bool = True, patience: int = 5, stopping_threshold: Optional[float] = None):
        self.monitor = monitor
        if rule is None:
            lowered = monitor.lower()
            if any(k in lowered for k in GREATER_KEYS):
                rule = "greater"
            elif any(k in lowered for k in LESS_KEYS):
                rule = "less"
            else:
                raise ConfigError(f"EarlyStoppingHook: cannot tell whether a larger {monitor!r} is better; "
                                  f"set rule='greater' or rule='less'")
        check_choice(self, "rule", rule, ("greater", "less"))
        self.rule = rule
        self.min_delta = abs(min_delta)
        self.strict = strict
        self.check_finite = check_finite
        self.patience = int(patience)
        self.stopping_threshold = stopping_threshold
        self.best = -math.inf if rule == "greater" else math.inf
        self.wait_count = 0

    def _improved(self, value: float) -> bool:
        if self.rule == "greater":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not runner.train_loop_built or metrics is None:
            return
        if self.monitor not in metrics:
            text = (f"EarlyStoppingHook: monitor {self.monitor!r} is not among the metrics {sorted(metrics)}."
                    f"{did_you_mean(self.monitor, metrics)}")
            if self.strict:
                raise ConfigError(text)
            runner.logger.warning(text)
            return
        value = float(metrics[self.monitor])
        reason = None
        if self.check_finite and not math.isfinite(value):
            reason = f"{self.monitor} is {value}"
        elif self.stopping_threshold is not None and (
                value >= self.stopping_threshold if self.rule == "greater" else value <= self.stopping_threshold):
            reason = f"{self.monitor} reached the stopping threshold {self.stopping_threshold}"
        elif self._improved(value):
            self.best, self.wait_count = value, 0
        else:
            self.wait_count += 1
            if self.wait_count >= self.patience:
                reason = (f"{self.monitor} did not improve by more than {self.min_delta} for "
                          f"{self.patience} validations (best {self.best:.4f})")
        if reason:
            runner.train_loop.stop_training = True
            runner.logger.info(f"Early stopping: {reason}")
