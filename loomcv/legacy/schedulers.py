"""MMCV 1.x ``lr_config`` / ``momentum_config`` policies as closed-form schedulers.

MMCV 1.x's updater hooks compute the regular value from the *base* value at
each epoch start (``by_epoch`` policies) or each iteration, then scale it by
the warmup factor while ``iteration < warmup_iters``. Chained native
schedulers cannot reproduce every combination (a warmup over a policy with a
floor, ``exp`` warmup, a warmup counted in epochs, cyclic policies ...), so
``LegacyLR`` and ``LegacyMomentum`` compute that value directly from the
iteration number. They step every iteration (``by_epoch=False``, or
``by_epoch=True`` with ``convert_to_iter_based=True``, which also gives them
the epoch length). The config translation emits them only where no native
composition is exact; their policies and arguments are the table in
:mod:`loomcv.legacy.policies`.
"""

from numbers import Number
from typing import Any, Dict, List, Optional, Tuple

from loomcv.errors import ConfigError
from loomcv.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from loomcv.optim.scheduler.param_scheduler import INF, _ParamScheduler, _param_groups, anneal
from loomcv.registry import PARAM_SCHEDULERS

from .policies import FLOOR_NAMES, POLICIES, REQUIRED, WARMUPS, policies_of


def _per_group(value: Any, n: int, name: str) -> List[float]:
    if isinstance(value, Number):
        return [float(value)] * n
    if isinstance(value, (list, tuple)) and len(value) == n:
        return [float(v) for v in value]
    raise ConfigError(f"{name} must be a number or a list of {n} numbers (one per param group), "
                      f"got {value!r}")


class _LegacySchedule(_ParamScheduler):
    """Shared closed form; subclasses name their updater ('lr' or 'momentum') and the warmup direction."""

    updater = ""

    @property
    def floor_names(self) -> Tuple[str, str]:
        return FLOOR_NAMES[self.updater]

    def __init__(self, optimizer, param_name: str, policy: str, per_epoch: Optional[bool] = None,
                 warmup: Optional[str] = None, warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False, iters_per_epoch: Optional[int] = None,
                 begin: int = 0, end: int = INF, last_step: int = -1, by_epoch: bool = False,
                 verbose: bool = False, **policy_args):
        name = type(self).__name__
        found = POLICIES.get(policy.lower()) if isinstance(policy, str) else None
        defaults = found.arguments(self.updater) if found is not None else None
        if defaults is None:
            raise ConfigError(f"{name}: unknown policy {policy!r} (known: {', '.join(policies_of(self.updater))})")
        self.policy = found.name
        extra = sorted(set(policy_args) - set(defaults))
        if extra:
            raise ConfigError(f"{name}(policy={self.policy!r}) got unknown arguments {', '.join(extra)} "
                              f"(known: {', '.join(defaults) or 'none'})")
        args = {k: policy_args.get(k, d) for k, d in defaults.items()}
        missing = [k for k, v in args.items() if v is REQUIRED]
        if missing:
            raise ConfigError(f"{name}(policy={self.policy!r}) needs {', '.join(missing)}")
        iterative = found.per_iteration
        self.per_epoch = (not iterative) if per_epoch is None else bool(per_epoch)
        if iterative and self.per_epoch:
            raise ConfigError(f"{name}: the {self.policy!r} policy changes the value every iteration; "
                              "per_epoch must be False (MMCV 1.x refuses by_epoch=True for it)")
        if by_epoch:
            raise ConfigError(f"{name} steps every iteration: give by_epoch=False, or by_epoch=True "
                              "with convert_to_iter_based=True")
        if warmup is not None and warmup not in WARMUPS:
            raise ConfigError(f"{name}: warmup must be one of {', '.join(WARMUPS)} or None, got {warmup!r}")
        if warmup is not None and (not warmup_iters or warmup_iters <= 0 or not 0 < warmup_ratio <= 1):
            raise ConfigError(f"{name}: a warmup needs warmup_iters > 0 and 0 < warmup_ratio <= 1, got "
                              f"warmup_iters={warmup_iters!r}, warmup_ratio={warmup_ratio!r}")
        if (self.per_epoch or warmup_by_epoch) and not iters_per_epoch:
            raise ConfigError(f"{name}: a per-epoch policy or warmup_by_epoch needs the epoch length; build it "
                              "with by_epoch=True, convert_to_iter_based=True (or give iters_per_epoch)")
        if end >= INF:
            raise ConfigError(f"{name} needs a finite end (the training length in iterations)")
        self.args = args
        self.warmup, self.warmup_ratio, self.iters_per_epoch = warmup, warmup_ratio, iters_per_epoch
        self.warmup_iters = warmup_iters * iters_per_epoch if warmup_by_epoch else warmup_iters
        self.run_iters = end - begin
        groups = _param_groups(optimizer)
        self._check(args, len(groups))
        if last_step == -1:
            self._start(groups, param_name)
        super().__init__(optimizer, param_name, begin, end, last_step, False, verbose)

    # ---------------------------------------------------------- policies
    def _check(self, args: Dict[str, Any], n_groups: int) -> None:
        """Validate the policy arguments (subclasses add their own)."""
        low, ratio = (args.get(k) for k in self.floor_names)
        if POLICIES[self.policy.lower()].floor and (low is None) == (ratio is None):
            raise ConfigError(f"{type(self).__name__}(policy={self.policy!r}) needs exactly one of "
                              f"{' and '.join(self.floor_names)}")
        if self.policy == "cyclic":
            target = args["target_ratio"]
            if isinstance(target, Number):
                target = (target, target / 1e5)
            elif isinstance(target, (list, tuple)) and len(target) == 1:
                target = (target[0], target[0] / 1e5)
            if not isinstance(target, (list, tuple)) or len(target) != 2:
                raise ConfigError(f"{type(self).__name__}: cyclic target_ratio must be a number or two "
                                  f"numbers, got {args['target_ratio']!r}")
            args["target_ratio"] = tuple(target)
            if not 0 <= args["step_ratio_up"] < 1 or not 0 < args["gamma"] <= 1:
                raise ConfigError(f"{type(self).__name__}: cyclic needs 0 <= step_ratio_up < 1 and "
                                  f"0 < gamma <= 1, got {args['step_ratio_up']!r}, {args['gamma']!r}")
            if self.run_iters // args["cyclic_times"] < 1:
                raise ConfigError(f"{type(self).__name__}: {args['cyclic_times']} cycles do not fit in "
                                  f"{self.run_iters} iterations")
        if self.policy == "CosineRestart" and len(args["periods"]) != len(args["restart_weights"]):
            raise ConfigError(f"{type(self).__name__}: CosineRestart needs one restart_weights entry per period, "
                              f"got periods={args['periods']!r}, restart_weights={args['restart_weights']!r}")
        if "anneal_strategy" in args and args["anneal_strategy"] not in ("cos", "linear"):
            raise ConfigError(f"{type(self).__name__}: anneal_strategy must be 'cos' or 'linear', got "
                              f"{args['anneal_strategy']!r}")

    def _start(self, groups: List[dict], param_name: str) -> None:
        """Set up the param groups before the first value (OneCycle replaces the base)."""

    def _progress(self, it: int) -> Tuple[int, int]:
        if self.per_epoch:
            return it // self.iters_per_epoch, self.run_iters // self.iters_per_epoch
        return it, self.run_iters

    def _cyclic(self, base: float, it: int) -> float:
        a = self.args
        period = self.run_iters // a["cyclic_times"]
        up = int(a["step_ratio_up"] * period)
        scale = a["gamma"] ** (it // period)
        pos = it % period
        high, low = a["target_ratio"]
        peak = 1 - scale + high * scale  # the gamma decay shrinks the distance from the base
        if pos < up:
            return anneal(a["anneal_strategy"], base, base * peak, pos / up)
        return anneal(a["anneal_strategy"], base * peak, base * low, (pos - up) / (period - up))

    def _regular(self, base: float, idx: int, it: int) -> float:
        a, policy = self.args, self.policy
        progress, total = self._progress(it)
        low_name, ratio_name = self.floor_names
        floor = base * a[ratio_name] if a.get(ratio_name) is not None else a.get(low_name)
        if policy == "fixed":
            return base
        if policy == "step":
            step = a["step"]
            exp = progress // step if isinstance(step, int) else \
                next((i for i, s in enumerate(step) if progress < s), len(step))
            value = base * a["gamma"] ** exp
            return value if a[low_name] is None else max(value, a[low_name])
        if policy == "Exp":
            return base * a["gamma"] ** progress
        if policy == "Inv":
            return base * (1 + a["gamma"] * progress) ** (-a["power"])
        if policy == "poly":
            return (base - a[low_name]) * (1 - progress / total) ** a["power"] + a[low_name]
        if policy == "CosineAnnealing":
            return anneal("cos", base, floor, progress / total)
        if policy == "LinearAnnealing":
            return anneal("linear", base, floor, progress / total)
        if policy == "FlatCosineAnnealing":
            start = round(total * a["start_percent"])
            return base if progress < start else anneal("cos", base, floor, (progress - start) / (total - start))
        if policy == "CosineRestart":
            ends = [sum(a["periods"][:i + 1]) for i in range(len(a["periods"]))]
            idx = next((i for i, e in enumerate(ends) if progress < e), None)
            if idx is None:
                raise ConfigError(f"{type(self).__name__}: step {progress} is past the CosineRestart "
                                  f"periods {a['periods']}")
            alpha = min((progress - (ends[idx - 1] if idx else 0)) / a["periods"][idx], 1)
            return anneal("cos", base, floor, alpha, weight=a["restart_weights"][idx])
        if policy == "cyclic":
            return self._cyclic(base, it)
        return self._one_cycle(base, idx, it)

    def _one_cycle(self, base: float, idx: int, it: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _warm(self, regular: float, base: float, idx: int, it: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ value
    def _warmup_factor(self, it: int) -> float:
        if self.warmup == "constant":
            return self.warmup_ratio
        if self.warmup == "linear":
            return 1 - (1 - it / self.warmup_iters) * (1 - self.warmup_ratio)
        return self.warmup_ratio ** (1 - it / self.warmup_iters)

    def _get_value(self) -> List[float]:
        it = self.last_step
        out = []
        for idx, base in enumerate(self.base_values):
            value = self._regular(base, idx, it)
            if self.warmup is not None and it < self.warmup_iters:
                value = self._warm(value, base, idx, it)
            out.append(value)
        return out

    # ---------------------------------------------------- epoch -> iteration
    @classmethod
    def build_iter_from_epoch(cls, *args, epoch_length: Optional[int] = None, **kwargs):
        """As the base class, and hand the epoch length on for per-epoch policies."""
        return super().build_iter_from_epoch(*args, epoch_length=epoch_length,
                                             iters_per_epoch=epoch_length, **kwargs)


@PARAM_SCHEDULERS.register_module()
class LegacyLR(_LegacySchedule):
    """The lr of an MMCV 1.x ``lr_config`` policy and warmup, computed each iteration.

    ``dict(type='LegacyLR', policy='cyclic', target_ratio=(10, 1e-4), warmup='exp',
    warmup_iters=5, warmup_ratio=0.1, warmup_by_epoch=True, by_epoch=True,
    convert_to_iter_based=True)``; ``per_epoch`` is the 0.x policy's ``by_epoch``.
    During warmup the lr is the regular lr times the warmup factor.
    """

    updater = "lr"

    def __init__(self, optimizer, policy: str, **kwargs):
        super().__init__(optimizer, "lr", policy, **kwargs)

    def _check(self, args, n_groups):
        super()._check(args, n_groups)
        if self.policy == "OneCycle":
            total = args["total_steps"] if args["total_steps"] is not None else self.run_iters
            if total < self.run_iters:
                raise ConfigError(f"LegacyLR: OneCycle total_steps ({total}) must be at least the run "
                                  f"length ({self.run_iters} iterations)")
            if not 0 < args["pct_start"] < 1 or args["pct_start"] * total <= 1:
                raise ConfigError(f"LegacyLR: OneCycle needs 0 < pct_start < 1 with pct_start * "
                                  f"total_steps > 1, got {args['pct_start']!r} and {total}")
            args["total_steps"] = total
            args["max_lr"] = _per_group(args["max_lr"], n_groups, "LegacyLR OneCycle max_lr")

    def _start(self, groups, param_name):
        if self.policy == "OneCycle":  # the cycle starts at max_lr / div_factor, whatever the optimizer's lr
            for group, top in zip(groups, self.args["max_lr"]):
                group["initial_lr"] = group["lr"] = top / self.args["div_factor"]

    def _one_cycle(self, base, idx, it):
        a = self.args
        total, div = a["total_steps"], a["div_factor"]
        up = float(a["pct_start"] * total) - 1
        if a["three_phase"]:
            phases = [(up, 1, div), (2 * up, div, 1), (total - 1, 1, 1 / a["final_div_factor"])]
        else:
            phases = [(up, 1, div), (total - 1, div, 1 / a["final_div_factor"])]
        start = 0.0
        for stop, first, last in phases:
            if it <= stop:
                return anneal(a["anneal_strategy"], base * first, base * last, (it - start) / (stop - start))
            start = stop
        return base * phases[-1][2]

    def _warm(self, regular, base, idx, it):
        return regular * self._warmup_factor(it)


@PARAM_SCHEDULERS.register_module()
class LegacyMomentum(MomentumSchedulerMixin, _LegacySchedule):
    """The momentum (``betas[0]`` for Adam-like optimizers) of an MMCV 1.x ``momentum_config``.

    As MMCV 1.x: during a ``linear``/``exp`` warmup the momentum is the regular
    momentum *divided* by the warmup factor; a ``constant`` warmup leaves the
    momentum as it was before training (per-iteration policies) or at the
    epoch's regular value (per-epoch ones), because MMCV 1.x's hook reads a
    list it never fills for it.
    """

    updater = "momentum"

    def __init__(self, optimizer, policy: str, warmup_ratio: float = 0.9, **kwargs):
        super().__init__(optimizer, "momentum", policy, warmup_ratio=warmup_ratio, **kwargs)

    def _check(self, args, n_groups):
        super()._check(args, n_groups)
        if self.policy == "OneCycle":
            if not 0 < args["pct_start"] < 1 or args["pct_start"] * self.run_iters <= 1:
                raise ConfigError(f"LegacyMomentum: OneCycle needs 0 < pct_start < 1 with pct_start * "
                                  f"run length > 1, got {args['pct_start']!r} and {self.run_iters}")
            for key in ("base_momentum", "max_momentum"):
                args[key] = _per_group(args[key], n_groups, f"LegacyMomentum OneCycle {key}")

    def _start(self, groups, param_name):
        if self.policy == "OneCycle":  # the cycle starts at max_momentum
            for group, top in zip(groups, self.args["max_momentum"]):
                group["momentum"] = top

    def _one_cycle(self, base, idx, it):
        a = self.args
        low, high, total = a["base_momentum"][idx], a["max_momentum"][idx], self.run_iters
        up = float(a["pct_start"] * total) - 1
        if a["three_phase"]:
            phases = [(up, high, low), (2 * up, low, high), (total - 1, high, high)]
        else:
            phases = [(up, high, low), (total - 1, low, high)]
        start = 0.0
        for i, (stop, first, last) in enumerate(phases):
            if it <= stop or i == len(phases) - 1:
                return anneal(a["anneal_strategy"], first, last, (it - start) / (stop - start))
            start = stop
        raise AssertionError("unreachable")

    def _warm(self, regular, base, idx, it):
        if self.warmup == "constant":
            if self.per_epoch:
                return regular
            return self.args["max_momentum"][idx] if self.policy == "OneCycle" else base
        return regular / self._warmup_factor(it)


__all__ = ["LegacyLR", "LegacyMomentum"]
