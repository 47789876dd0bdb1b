"""Parameter schedulers: change an optimizer field (lr, momentum, ...) over training.

Each scheduler acts on steps ``begin <= step < end`` (epochs or iterations,
``by_epoch``). ``step()`` is called once per epoch/iteration; the value it
sets is the one used by the following epoch/iteration, and the constructor
sets the value for step 0. Values are computed in *chainable* form (from the
current value), so schedulers whose ranges overlap multiply, and a warmup
followed by a decay hands over smoothly. ``state_dict()`` holds everything
but the optimizer, so a resumed run continues the same curve.
"""

import inspect
import math
import warnings
from bisect import bisect_right
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Union


from loomcv.errors import ConfigError
from loomcv.registry import PARAM_SCHEDULERS
from loomcv.validation import check_choice

INF = int(1e9)


def _param_groups(optimizer: Any) -> List[dict]:
    groups = getattr(optimizer, "param_groups", None)
    if groups is None:
        raise TypeError(f"a parameter scheduler needs an optimizer or OptimWrapper, got "
                        f"{type(optimizer).__name__}")
    return groups


def anneal(strategy: str, start: float, stop: float, pct: float, weight: float = 1.0) -> float:
    """The value ``pct`` (0 to 1) of the way from ``start`` to ``stop``, along half a cosine
    (``'cos'``) or a line (``'linear'``): the closed form behind OneCycle, CosineRestart and
    the MMCV 1.x policies. ``weight`` scales the distance from ``stop`` (a restart's peak)."""
    if strategy == "cos":
        return stop + weight * (start - stop) * (1 + math.cos(math.pi * pct)) / 2
    if strategy == "linear":
        if weight == 1:
            return start + (stop - start) * pct
        return stop + weight * (start - stop) * (1 - pct)
    raise ValueError(f"anneal: strategy must be 'cos' or 'linear', got {strategy!r}")


class _ParamScheduler:
    """Base class. Subclasses implement ``_get_value()`` (chainable form)."""

    #: arguments (besides begin/end) counted in epochs that convert_to_iter_based scales
    epoch_args: Sequence[str] = ()

    def __init__(self, optimizer: Any, param_name: str, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        groups = _param_groups(optimizer)
        if not isinstance(begin, int) or not isinstance(end, int) or not 0 <= begin < end:
            raise ConfigError(f"{type(self).__name__}: need integers 0 <= begin < end, got "
                              f"begin={begin!r}, end={end!r}")
        for i, group in enumerate(groups):
            if param_name not in group:
                raise ConfigError(f"{type(self).__name__}: param group {i} of the optimizer has no "
                                  f"{param_name!r} (it has {sorted(k for k in group if k != 'params')})")
        self.optimizer = optimizer
        self.param_name = param_name
        self.begin, self.end, self.by_epoch, self.verbose = begin, end, by_epoch, verbose
        initial = f"initial_{param_name}"
        if last_step == -1:
            for group in groups:
                group.setdefault(initial, group[param_name])
        else:
            for i, group in enumerate(groups):
                if initial not in group:
                    raise KeyError(f"{type(self).__name__}: resuming (last_step={last_step}) needs "
                                   f"{initial!r} in param group {i}")
        self.base_values = [group[initial] for group in groups]
        self.last_step = last_step
        self._global_step = begin + last_step + 1 if last_step != -1 else 0
        self._last_value: List[float] = []
        self._order_checked = True  # the constructor's own step is not the user's first
        _count_optimizer_steps(optimizer)
        if last_step == -1:
            self.step()
        self._order_checked = False

    @property
    def param_groups(self) -> List[dict]:
        return _param_groups(self.optimizer)

    # ------------------------------------------------------------ stepping
    def _get_value(self) -> List[float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch/iteration; set the value for the next one when in range."""
        if not self._order_checked:
            self._order_checked = True
            _check_step_order(self)
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            for i, (group, value) in enumerate(zip(self.param_groups, self._get_value())):
                group[self.param_name] = value
                if self.verbose:
                    print(f"{type(self).__name__}: {self.param_name} of group {i} -> {value:.4e}")
        self._global_step += 1
        self._last_value = [group[self.param_name] for group in self.param_groups]

    def get_last_value(self) -> List[float]:
        """The values the most recent ``step()`` left in the param groups."""
        return self._last_value

    # ------------------------------------------------------------ resume
    def state_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_order_checked")}

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        self.__dict__.update(state_dict)

    # ---------------------------------------------------- epoch -> iteration
    @classmethod
    def build_iter_from_epoch(cls, *args, begin: int = 0, end: int = INF, by_epoch: bool = True,
                              epoch_length: Optional[int] = None, **kwargs) -> "_ParamScheduler":
        """Build with every epoch-counted argument multiplied by ``epoch_length`` (iterations)."""
        if not by_epoch:
            raise ConfigError(f"{cls.__name__}: convert_to_iter_based needs by_epoch=True")
        if not isinstance(epoch_length, int) or epoch_length <= 0:
            raise ConfigError(f"{cls.__name__}: convert_to_iter_based needs epoch_length (iterations "
                              f"per epoch) > 0, got {epoch_length!r}")
        begin = int(begin * epoch_length)
        if end != INF:
            end = int(end * epoch_length)
        for name in cls.epoch_args:
            value = kwargs.get(name)
            if isinstance(value, (list, tuple)):
                kwargs[name] = [int(v * epoch_length) for v in value]
            elif isinstance(value, (int, float)):
                kwargs[name] = int(value * epoch_length)
        return cls(*args, begin=begin, end=end, by_epoch=False, **kwargs)

    def __repr__(self) -> str:
        unit = "epoch" if self.by_epoch else "iter"
        end = "inf" if self.end >= INF else self.end
        return f"{type(self).__name__}({self.param_name}, {unit} [{self.begin}, {end}))"


def _torch_optimizer(optimizer: Any) -> Any:
    return getattr(optimizer, "optimizer", optimizer)  # an OptimWrapper holds the torch optimizer


def _on_optimizer_step(optimizer: Any, args: Any, kwargs: Any) -> None:
    optimizer._loomcv_step_count = getattr(optimizer, "_loomcv_step_count", 0) + 1


def _count_optimizer_steps(optimizer: Any) -> None:
    """Count the torch optimizer's steps (a post-step hook, added once per optimizer)."""
    opt = _torch_optimizer(optimizer)
    register = getattr(opt, "register_step_post_hook", None)
    if register is not None and not hasattr(opt, "_loomcv_step_count"):
        opt._loomcv_step_count = 0
        register(_on_optimizer_step)


def _check_step_order(scheduler: _ParamScheduler) -> None:
    """Warn, as MMEngine and torch do, when the first ``scheduler.step()`` comes before any
    ``optimizer.step()``: the schedule's first value is then skipped. A wrapper that has run a
    backward pass (gradient accumulation, a resumed count) has started, so it does not warn."""
    opt = _torch_optimizer(scheduler.optimizer)
    if getattr(opt, "_loomcv_step_count", 1) == 0 and not getattr(scheduler.optimizer, "_inner_count", 0):
        warnings.warn(f"{type(scheduler).__name__}.step() was called before optimizer.step(): call "
                      "optimizer.step() first, or the first value of the schedule is skipped", UserWarning,
                      stacklevel=3)


@PARAM_SCHEDULERS.register_module()
class ConstantParamScheduler(_ParamScheduler):
    """Multiply by ``factor`` from ``begin``; restore the value at the last step of the range."""

    def __init__(self, optimizer, param_name: str, factor: float = 1.0 / 3, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if not 0 < factor <= 1.0:
            raise ConfigError(f"Constant scheduler factor must be in (0, 1], got {factor}")
        self.factor = factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        if self.last_step == 0:
            return [v * self.factor for v in values]
        if self.last_step == self.total_iters:
            return [v / self.factor for v in values]
        return values


@PARAM_SCHEDULERS.register_module()
class LinearParamScheduler(_ParamScheduler):
    """Factor goes linearly from ``start_factor`` to ``end_factor``, reached at step ``end - 1``."""

    def __init__(self, optimizer, param_name: str, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, begin: int = 0, end: int = INF, last_step: int = -1,
                 by_epoch: bool = True, verbose: bool = False):
        if not 0 < start_factor <= 1.0:
            raise ConfigError(f"Linear scheduler start_factor must be in (0, 1], got {start_factor}")
        if not 0 <= end_factor <= 1.0:
            raise ConfigError(f"Linear scheduler end_factor must be in [0, 1], got {end_factor}")
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        if self.last_step == 0:
            return [v * self.start_factor for v in values]
        t, total, s, e = self.last_step, max(self.total_iters, 1), self.start_factor, self.end_factor
        if t > total:
            return values
        prev = s + (e - s) * (t - 1) / total
        now = s + (e - s) * t / total
        return [v * now / prev for v in values]


@PARAM_SCHEDULERS.register_module()
class StepParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` every ``step_size`` steps."""

    epoch_args = ("step_size",)

    def __init__(self, optimizer, param_name: str, step_size: int, gamma: float = 0.1,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not isinstance(step_size, int) or step_size < 1:
            raise ConfigError(f"Step scheduler step_size must be an int >= 1, got {step_size!r}")
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        if self.last_step == 0 or self.last_step % self.step_size:
            return values
        return [v * self.gamma for v in values]


@PARAM_SCHEDULERS.register_module()
class MultiStepParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` at each milestone (counted from ``begin``)."""

    epoch_args = ("milestones",)

    def __init__(self, optimizer, param_name: str, milestones: Sequence[int], gamma: float = 0.1,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        if not isinstance(milestones, (list, tuple)) or not all(isinstance(m, int) for m in milestones):
            raise ConfigError(f"MultiStep scheduler milestones must be a list of ints, got {milestones!r}")
        self.milestones, self.gamma = Counter(milestones), gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        hits = self.milestones.get(self.last_step, 0)
        return [v * self.gamma ** hits for v in values] if hits else values


@PARAM_SCHEDULERS.register_module()
class ExponentialParamScheduler(_ParamScheduler):
    """Multiply by ``gamma`` every step."""

    def __init__(self, optimizer, param_name: str, gamma: float, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        self.gamma = gamma
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        return values if self.last_step == 0 else [v * self.gamma for v in values]


def _eta_mins(base_values: List[float], eta_min: Optional[float], eta_min_ratio: Optional[float],
              name: str) -> List[float]:
    if eta_min is not None and eta_min_ratio is not None:
        raise ConfigError(f"{name}: give eta_min or eta_min_ratio, not both")
    if eta_min_ratio is not None:
        return [b * eta_min_ratio for b in base_values]
    return [eta_min or 0.0] * len(base_values)


@PARAM_SCHEDULERS.register_module()
class CosineAnnealingParamScheduler(_ParamScheduler):
    """Half a cosine from the current value down to ``eta_min`` over ``T_max`` steps.

    ``T_max`` defaults to ``end - begin``; ``eta_min_ratio`` sets ``eta_min``
    as a fraction of each group's initial value.
    """

    epoch_args = ("T_max",)

    def __init__(self, optimizer, param_name: str, T_max: Optional[int] = None,
                 eta_min: Optional[float] = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False,
                 eta_min_ratio: Optional[float] = None):
        if T_max is None and end >= INF:
            raise ConfigError("CosineAnnealing scheduler needs T_max or a finite end")
        self.T_max = T_max if T_max is not None else end - begin
        self._eta_min, self.eta_min_ratio = eta_min, eta_min_ratio
        groups = _param_groups(optimizer)
        bases = [g.get(f"initial_{param_name}", g.get(param_name)) for g in groups]
        self.eta_mins = _eta_mins(bases, eta_min, eta_min_ratio, type(self).__name__)
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        t, T = self.last_step, self.T_max
        values = [g[self.param_name] for g in self.param_groups]
        if t == 0:
            return values
        if (t - 1 - T) % (2 * T) == 0:  # the bottom of a period: the ratio form would divide by 0
            return [v + (b - m) * (1 - math.cos(math.pi / T)) / 2
                    for v, b, m in zip(values, self.base_values, self.eta_mins)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [(v - m) * ratio + m for v, m in zip(values, self.eta_mins)]


@PARAM_SCHEDULERS.register_module()
class PolyParamScheduler(_ParamScheduler):
    """``(v0 - eta_min) * (1 - t / T) ** power + eta_min``, reaching eta_min at step ``end - 1``."""

    def __init__(self, optimizer, param_name: str, eta_min: float = 0, power: float = 1.0,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        self.eta_min, self.power = eta_min, power
        self.total_iters = end - begin - 1
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        values = [g[self.param_name] for g in self.param_groups]
        if self.last_step == 0:
            return values
        factor = (1 - 1 / (self.total_iters - self.last_step + 1)) ** self.power
        return [(v - self.eta_min) * factor + self.eta_min for v in values]


@PARAM_SCHEDULERS.register_module()
class OneCycleParamScheduler(_ParamScheduler):
    """The 1cycle policy: up from ``eta_max/div_factor`` to ``eta_max``, then down to
    ``eta_max/(div_factor*final_div_factor)`` (cosine or linear), over ``total_steps``."""

    epoch_args = ("total_steps",)

    def __init__(self, optimizer, param_name: str, eta_max: Union[float, Sequence[float]] = 0.1,
                 total_steps: Optional[int] = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False, begin: int = 0,
                 end: int = INF, last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        groups = _param_groups(optimizer)
        check_choice(self, "anneal_strategy", anneal_strategy, ("cos", "linear"))
        if not 0 < pct_start < 1:
            raise ConfigError(f"OneCycle pct_start must be in (0, 1), got {pct_start}")
        total = total_steps if total_steps is not None else end - begin
        if total >= INF or total <= 0:
            raise ConfigError("OneCycle scheduler needs total_steps or a finite end")
        self.total_steps, self.anneal_strategy = total, anneal_strategy
        maxes = list(eta_max) if isinstance(eta_max, (list, tuple)) else [eta_max] * len(groups)
        if len(maxes) != len(groups):
            raise ConfigError(f"OneCycle eta_max has {len(maxes)} values for {len(groups)} groups")
        up = float(pct_start * total) - 1
        if three_phase:
            self._phases = [(up, "initial", "max"), (2 * up, "max", "initial"),
                            (total - 1, "initial", "min")]
        else:
            self._phases = [(up, "initial", "max"), (total - 1, "max", "min")]
        if last_step == -1:
            for group, top in zip(groups, maxes):
                group[f"initial_{param_name}"] = top / div_factor
                group[param_name] = top / div_factor
                group[f"max_{param_name}"] = top
                group[f"min_{param_name}"] = top / div_factor / final_div_factor
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        t, out = min(self.last_step, self.total_steps - 1), []  # past the cycle: stay at the end
        name = self.param_name
        for group in self.param_groups:
            start_step = 0.0
            for i, (end_step, a, b) in enumerate(self._phases):
                if t <= end_step or i == len(self._phases) - 1:
                    pct = (t - start_step) / (end_step - start_step) if end_step > start_step else 1.0
                    out.append(anneal(self.anneal_strategy, group[f"{a}_{name}"], group[f"{b}_{name}"], pct))
                    break
                start_step = end_step
        return out


@PARAM_SCHEDULERS.register_module()
class CosineRestartParamScheduler(_ParamScheduler):
    """Cosine annealing restarted after each of ``periods``, as MMEngine's.

    Each period starts at ``base × restart_weight`` and anneals to ``eta_min``
    (``eta_min_ratio × base``); between restarts each step rescales the current
    value's distance to ``eta_min``, so it chains with other schedulers.
    (MMCV 1.x's policy peaked at ``eta_min + weight × (base − eta_min)``
    instead: :class:`loomcv.legacy.LegacyLR` keeps that one.)
    """

    epoch_args = ("periods",)

    def __init__(self, optimizer, param_name: str, periods: Sequence[int],
                 restart_weights: Sequence[float] = (1,), eta_min: Optional[float] = None,
                 eta_min_ratio: Optional[float] = None, begin: int = 0, end: int = INF,
                 last_step: int = -1, by_epoch: bool = True, verbose: bool = False):
        if len(periods) != len(restart_weights):
            raise ConfigError(f"CosineRestart: periods {list(periods)} and restart_weights "
                              f"{list(restart_weights)} must have the same length")
        self.periods, self.restart_weights = list(periods), list(restart_weights)
        self.cumulative_periods = [sum(self.periods[:i + 1]) for i in range(len(self.periods))]
        groups = _param_groups(optimizer)
        bases = [g.get(f"initial_{param_name}", g.get(param_name)) for g in groups]
        self.eta_mins = _eta_mins(bases, eta_min, eta_min_ratio, type(self).__name__)
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _get_value(self):
        t = self.last_step
        idx = bisect_right(self.cumulative_periods, t)
        if idx >= len(self.periods):
            return [g[self.param_name] for g in self.param_groups]
        step = t - (self.cumulative_periods[idx - 1] if idx else 0)
        period, weight = self.periods[idx], self.restart_weights[idx]
        if step == 0:  # a restart: the peak is the base value scaled by the period's weight
            return [b * weight for b in self.base_values]
        ratio = (1 + math.cos(math.pi * step / period)) / (1 + math.cos(math.pi * (step - 1) / period))
        return [ratio * (g[self.param_name] - m) + m for g, m in zip(self.param_groups, self.eta_mins)]


@PARAM_SCHEDULERS.register_module()
class ReduceOnPlateauParamScheduler(_ParamScheduler):
    """Multiply by ``factor`` when the ``monitor`` metric stops improving for ``patience`` checks.

    Steps after validation with the metrics dict: ``step(metrics)``.
    """

    need_val_args = True

    def __init__(self, optimizer, param_name: str, monitor: str = "loss", rule: str = "less",
                 factor: float = 0.1, patience: int = 10, threshold: float = 1e-4,
                 threshold_rule: str = "rel", cooldown: int = 0,
                 min_value: Union[float, Sequence[float]] = 0.0, eps: float = 1e-8,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = True,
                 verbose: bool = False):
        check_choice(self, "rule", rule, ("less", "greater"))
        check_choice(self, "threshold_rule", threshold_rule, ("rel", "abs"))
        if not by_epoch:
            raise ConfigError(f"{type(self).__name__}: by_epoch must be True (it steps after each validation, "
                              "with its metrics; MMEngine refuses by_epoch=False too), got by_epoch=False")
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceOnPlateau factor must be in (0, 1), got {factor}")
        n = len(_param_groups(optimizer))
        self.min_values = list(min_value) if isinstance(min_value, (list, tuple)) else [min_value] * n
        self.monitor, self.rule, self.factor, self.patience = monitor, rule, factor, patience
        self.threshold, self.threshold_rule, self.cooldown, self.eps = threshold, threshold_rule, cooldown, eps
        self.best = math.inf if rule == "less" else -math.inf
        self.num_bad_epochs, self.cooldown_counter = 0, 0
        super().__init__(optimizer, param_name, begin, end, last_step, by_epoch, verbose)

    def _better(self, value: float) -> bool:
        if self.rule == "less":
            edge = self.best * (1 - self.threshold) if self.threshold_rule == "rel" else self.best - self.threshold
            return value < edge
        edge = self.best * (1 + self.threshold) if self.threshold_rule == "rel" else self.best + self.threshold
        return value > edge

    def step(self, metrics: Optional[Dict[str, Any]] = None) -> None:
        if metrics is None:  # the constructor's step 0, or a step without validation
            self._global_step += 1
            self._last_value = [g[self.param_name] for g in self.param_groups]
            return
        if self.monitor not in metrics:
            raise KeyError(f"ReduceOnPlateau monitors {self.monitor!r} but the metrics are "
                           f"{sorted(metrics)}")
        if self.begin <= self._global_step < self.end:
            self.last_step += 1
            value = float(metrics[self.monitor])
            if self._better(value):
                self.best, self.num_bad_epochs = value, 0
            else:
                self.num_bad_epochs += 1
            if self.cooldown_counter > 0:
                self.cooldown_counter -= 1
                self.num_bad_epochs = 0
            if self.num_bad_epochs > self.patience:
                for group, low in zip(self.param_groups, self.min_values):
                    old = group[self.param_name]
                    new = max(old * self.factor, low)
                    if old - new > self.eps:
                        group[self.param_name] = new
                self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._global_step += 1
        self._last_value = [g[self.param_name] for g in self.param_groups]


GENERIC = [ConstantParamScheduler, LinearParamScheduler, StepParamScheduler,
           MultiStepParamScheduler, ExponentialParamScheduler, CosineAnnealingParamScheduler,
           PolyParamScheduler, OneCycleParamScheduler, CosineRestartParamScheduler,
           ReduceOnPlateauParamScheduler]


class FixedParamMixin:
    """Base of the schedulers that always drive one optimizer field (CosineAnnealingLR, StepMomentum, ...).

    A subclass sets ``scheduled_param`` and lists a generic scheduler after this
    mixin; its constructor then takes the generic's arguments without
    ``param_name``. The class signature drops it too, so a config that passes
    ``param_name`` (or a misspelt argument) is refused by name when built.
    """

    scheduled_param: str = ""

    def __init__(self, optimizer, *args, **kwargs):
        super().__init__(optimizer, self.scheduled_param, *args, **kwargs)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        generic = next((c for c in cls.__mro__ if issubclass(c, _ParamScheduler) and "__init__" in vars(c)), None)
        if generic is None:  # a mixin that only sets scheduled_param
            return
        params = list(inspect.signature(generic.__init__).parameters.values())[1:]  # without self
        cls.__signature__ = inspect.Signature([p for p in params if p.name != "param_name"])


__all__ = ["INF", "_ParamScheduler", "FixedParamMixin", "GENERIC"] + [c.__name__ for c in GENERIC]
