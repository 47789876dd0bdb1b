"""The MMCV 1.x ``lr_config`` / ``momentum_config`` policies, in one table.

Each :class:`Policy` says which arguments the policy takes (and their
defaults) for the lr and the momentum updater, whether it changes every
iteration, and how it translates: to native schedulers where some give exactly
the 0.x values, else to :class:`~loomcv.legacy.schedulers.LegacyLR` /
``LegacyMomentum``, which read the same table. No torch here: the config
translation imports this module.
"""

from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional

#: marks a policy argument that has no default
REQUIRED = object()
#: MMCV 1.x warmup kinds
WARMUPS = ("constant", "linear", "exp")
#: the keys of a policy config that describe its warmup
WARMUP_KEYS = ("warmup", "warmup_iters", "warmup_ratio", "warmup_by_epoch")
#: updater -> (absolute floor, floor as a ratio of the base value)
FLOOR_NAMES = {"lr": ("min_lr", "min_lr_ratio"), "momentum": ("min_momentum", "min_momentum_ratio")}


@dataclass(frozen=True)
class _Run:
    """What a policy's native form depends on besides its arguments."""

    value: str           # 'LR' or 'Momentum': the native class suffix
    length: int          # the run length, in the runner's unit
    by_epoch: bool       # the policy counts epochs
    run_by_epoch: bool   # the runner counts epochs
    given: frozenset     # the arguments the config wrote (the others are defaults)
    warmup: bool         # a native warmup comes first

    @property
    def floor(self) -> str:
        return FLOOR_NAMES[self.value.lower()][0]


@dataclass(frozen=True)
class Policy:
    """One MMCV 1.x updater policy."""

    name: str                                 # MMCV 1.x's spelling (its updater-hook class prefix)
    lr: Optional[Mapping[str, Any]] = None    # lr_config arguments -> default; None: no lr updater
    momentum: Optional[Mapping[str, Any]] = None  # the same for momentum_config
    per_iteration: bool = False               # changes every iteration (MMCV 1.x refuses by_epoch=True)
    floor: bool = False                       # needs exactly one of min_<v> and min_<v>_ratio
    #: the floor the config translation fills in (min_<v>=value) when the config gives neither
    translated_floor: Optional[float] = None
    #: (arguments with defaults, run) -> the main native scheduler; {} when the warmup alone is exact
    #: (fixed), None when no native form is
    native: Optional[Callable[[Dict[str, Any], _Run], Optional[Dict[str, Any]]]] = None

    def arguments(self, updater: str) -> Optional[Mapping[str, Any]]:
        """The arguments of the ``'lr'`` or ``'momentum'`` updater, None when it has no such policy."""
        return self.lr if updater == "lr" else self.momentum


# ------------------------------------------------------- native forms
def _main(run: _Run, **fields) -> Dict[str, Any]:
    return {"by_epoch": run.by_epoch, "begin": 0, "end": run.length, **fields}


def _fixed(args, run):
    return {}


def _step(args, run):
    if args[run.floor] is not None:
        return None  # the clamp has no native form
    step = args["step"]
    if isinstance(step, int):
        return _main(run, type=f"Step{run.value}", step_size=step, gamma=args["gamma"])
    return _main(run, type=f"MultiStep{run.value}", milestones=list(step), gamma=args["gamma"])


def _exp(args, run):
    return _main(run, type="ExponentialLR", gamma=args["gamma"])


def _poly(args, run):
    if run.run_by_epoch and not run.by_epoch:
        return None  # the length is only known in epochs, and PolyLR needs it in iterations
    # 0.x reaches (1 - t/T) ** power at t = T; PolyLR reaches eta_min at end - 1
    return _main(run, type="PolyLR", power=args["power"], eta_min=args["min_lr"], end=run.length + 1)


def _cosine(args, run):
    main = _main(run, type=f"CosineAnnealing{run.value}", T_max=run.length)
    ratio = args[f"{run.floor}_ratio"]
    if ratio is not None:
        main["eta_min_ratio"] = ratio
    else:
        main["eta_min"] = args[run.floor] or 0.0
    return main


def _one_cycle(args, run):
    if run.value != "LR" or run.warmup or isinstance(args["max_lr"], Mapping) \
            or (run.run_by_epoch and args["total_steps"] is not None):
        return None
    main = {"type": "OneCycleLR", "eta_max": args["max_lr"], "begin": 0, "end": run.length,
            **{k: args[k] for k in ("total_steps", "pct_start", "anneal_strategy", "div_factor",
                                    "final_div_factor", "three_phase") if k in run.given}}
    main.update(by_epoch=True, convert_to_iter_based=True) if run.run_by_epoch else main.update(by_epoch=False)
    return main


# -------------------------------------------------------------- table
_FLOOR_LR = dict.fromkeys(FLOOR_NAMES["lr"])
_FLOOR_MOMENTUM = dict.fromkeys(FLOOR_NAMES["momentum"])
_CYCLIC = {"cyclic_times": 1, "step_ratio_up": 0.4, "anneal_strategy": "cos", "gamma": 1.0}

#: lower-case policy name (MMCV 1.x matches policies case-insensitively) -> Policy
POLICIES: Dict[str, Policy] = {p.name.lower(): p for p in (
    Policy("fixed", lr={}, native=_fixed),
    Policy("step", lr={"step": REQUIRED, "gamma": 0.1, "min_lr": None},
           momentum={"step": REQUIRED, "gamma": 0.5, "min_momentum": None}, native=_step),
    Policy("Exp", lr={"gamma": REQUIRED}, native=_exp),
    Policy("Inv", lr={"gamma": REQUIRED, "power": 1.0}),
    Policy("poly", lr={"power": 1.0, "min_lr": 0.0}, native=_poly),
    Policy("CosineAnnealing", lr=_FLOOR_LR, momentum=_FLOOR_MOMENTUM, floor=True, translated_floor=0.0,
           native=_cosine),
    Policy("LinearAnnealing", lr=_FLOOR_LR, floor=True),
    Policy("FlatCosineAnnealing", lr={"start_percent": 0.75, **_FLOOR_LR}, floor=True),
    Policy("CosineRestart", lr={"periods": REQUIRED, "restart_weights": [1], **_FLOOR_LR}, floor=True),
    Policy("cyclic", lr={"target_ratio": (10, 1e-4), **_CYCLIC},
           momentum={"target_ratio": (0.85 / 0.95, 1), **_CYCLIC}, per_iteration=True),
    Policy("OneCycle", lr={"max_lr": REQUIRED, "total_steps": None, "pct_start": 0.3, "anneal_strategy": "cos",
                           "div_factor": 25.0, "final_div_factor": 1e4, "three_phase": False},
           momentum={"base_momentum": 0.85, "max_momentum": 0.95, "pct_start": 0.3, "anneal_strategy": "cos",
                     "three_phase": False}, per_iteration=True, native=_one_cycle),
)}


def policies_of(updater: str) -> Dict[str, Policy]:
    """MMCV 1.x spelling -> Policy, for the ``'lr'`` or ``'momentum'`` updater, in table order."""
    return {p.name: p for p in POLICIES.values() if p.arguments(updater) is not None}


def native_warmup(warm: Dict[str, Any]) -> Optional[List[Dict[str, Any]]]:
    """Native schedulers for an iteration-counted linear/constant lr warmup, None if not exact."""
    kind = warm.get("warmup")
    if kind is None:
        return []
    if kind not in ("linear", "constant") or warm.get("warmup_by_epoch"):
        return None
    ratio = warm.get("warmup_ratio", 0.1)
    # 0.x warms up for iterations [0, warmup_iters) and reaches the full lr at
    # warmup_iters; the native schedulers' last step is end - 1, hence end + 1.
    sched = {"type": "LinearLR" if kind == "linear" else "ConstantLR", "by_epoch": False,
             "begin": 0, "end": warm["warmup_iters"] + 1}
    if kind == "linear":
        sched.update(start_factor=ratio, end_factor=1.0)
    else:
        sched.update(factor=ratio)
    return [sched]


def native_schedulers(policy: Policy, args: Dict[str, Any], warm: Dict[str, Any], by_epoch: bool,
                      run_by_epoch: bool, length: int, value: str) -> Optional[List[Dict[str, Any]]]:
    """Native schedulers giving exactly the 0.x values of ``policy``, or None when none do.

    ``args`` are the policy arguments the config gave, ``warm`` its warmup keys,
    ``value`` 'LR' or 'Momentum'.
    """
    warmup = native_warmup(warm) if value == "LR" else (None if warm else [])
    if warmup is None or policy.native is None:
        return None
    run = _Run(value, length, by_epoch, run_by_epoch, frozenset(args), bool(warmup))
    main = policy.native({**policy.arguments(value.lower()), **args}, run)
    if main is None:
        return None
    if not main:
        return warmup
    if warmup and (main.get("eta_min") or main.get("eta_min_ratio")):
        # chained native schedulers scale (lr - floor) while 0.x scales the whole lr during warmup
        return None
    if run_by_epoch and not by_epoch and not policy.per_iteration:
        # A per-iteration policy in an epoch-based run: the run length is only
        # known in epochs, so the cosine counts epochs converted to iterations
        # and the others need no end at all.
        if main["type"].startswith("CosineAnnealing"):
            main.update(by_epoch=True, convert_to_iter_based=True)
        else:
            del main["end"]
    return warmup + [main]


__all__ = ["Policy", "POLICIES", "REQUIRED", "WARMUPS", "WARMUP_KEYS", "FLOOR_NAMES", "policies_of",
           "native_warmup", "native_schedulers"]
