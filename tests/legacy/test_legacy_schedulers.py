"""Translated lr_config / momentum_config schedules give the 0.x values at every iteration.

The 0.x formulas are written out here directly (MMCV 1.x LrUpdaterHook and
MomentumUpdaterHook semantics): the regular value follows the policy per
epoch (by_epoch=True) or per iteration, from the base value; while
iteration < W (warmup_iters, times the epoch length with warmup_by_epoch) the
lr is the regular lr times the warmup factor, and the momentum the regular
momentum divided by it.
"""

import math

import pytest

from loomcv.cli.plot_lr import simulate
from loomcv.config import Config
from loomcv.errors import ConfigError

BASE_LR, EPOCHS, EPOCH_LEN = 0.1, 6, 5
TOTAL = EPOCHS * EPOCH_LEN
ITERATIVE = ("cyclic", "OneCycle")


def cos_anneal(start, stop, pct):
    return stop + (start - stop) * 0.5 * (math.cos(math.pi * pct) + 1)


def anneal(strategy, start, stop, pct):
    return cos_anneal(start, stop, pct) if strategy == "cos" else start + (stop - start) * pct


def floor_of(cfg, base, name):
    return base * cfg[f"{name}_ratio"] if f"{name}_ratio" in cfg else cfg.get(name, 0.0)


def cyclic(cfg, base, it, default_ratio):
    high, low = cfg.get("target_ratio", default_ratio)
    period = TOTAL // cfg.get("cyclic_times", 1)
    up = int(cfg.get("step_ratio_up", 0.4) * period)
    scale = cfg.get("gamma", 1) ** (it // period)
    pos, strategy = it % period, cfg.get("anneal_strategy", "cos")
    peak = base * (1 - scale + high * scale)
    if pos < up:
        return anneal(strategy, base, peak, pos / up)
    return anneal(strategy, peak, base * low, (pos - up) / (period - up))


def one_cycle_lr(cfg, it):
    total, div = cfg.get("total_steps", TOTAL), cfg.get("div_factor", 25)
    base, top = cfg["max_lr"] / div, cfg["max_lr"]
    end_lr = base / cfg.get("final_div_factor", 1e4)
    pct = cfg.get("pct_start", 0.3)
    if cfg.get("three_phase"):
        phases = [(pct * total - 1, base, top), (2 * pct * total - 2, top, base), (total - 1, base, end_lr)]
    else:
        phases = [(pct * total - 1, base, top), (total - 1, top, end_lr)]
    start = 0
    for stop, a, b in phases:
        if it <= stop:
            return anneal(cfg.get("anneal_strategy", "cos"), a, b, (it - start) / (stop - start))
        start = stop


def one_cycle_momentum(cfg, it):
    low, high = cfg.get("base_momentum", 0.85), cfg.get("max_momentum", 0.95)
    pct = cfg.get("pct_start", 0.3)
    if cfg.get("three_phase"):
        phases = [(pct * TOTAL - 1, high, low), (2 * pct * TOTAL - 2, low, high), (TOTAL - 1, high, high)]
    else:
        phases = [(pct * TOTAL - 1, high, low), (TOTAL - 1, low, high)]
    start = 0
    for stop, a, b in phases:
        if it <= stop:
            return anneal(cfg.get("anneal_strategy", "cos"), a, b, (it - start) / (stop - start))
        start = stop


def regular_lr(cfg, it):
    kind = cfg["policy"]
    by_epoch = cfg.get("by_epoch", kind not in ITERATIVE)
    p, n = (it // EPOCH_LEN, EPOCHS) if by_epoch else (it, TOTAL)
    if kind == "step":
        steps = cfg["step"]
        exp = p // steps if isinstance(steps, int) else next((i for i, s in enumerate(steps) if p < s), len(steps))
        lr = BASE_LR * cfg.get("gamma", 0.1) ** exp
        return max(lr, cfg["min_lr"]) if cfg.get("min_lr") is not None else lr
    if kind == "CosineAnnealing":
        return cos_anneal(BASE_LR, floor_of(cfg, BASE_LR, "min_lr"), p / n)
    if kind == "LinearAnnealing":
        target = floor_of(cfg, BASE_LR, "min_lr")
        return BASE_LR + (target - BASE_LR) * p / n
    if kind == "FlatCosineAnnealing":
        start = round(n * cfg["start_percent"])
        floor = floor_of(cfg, BASE_LR, "min_lr")
        return BASE_LR if p < start else cos_anneal(BASE_LR, floor, (p - start) / (n - start))
    if kind == "CosineRestart":
        ends = [sum(cfg["periods"][:i + 1]) for i in range(len(cfg["periods"]))]
        idx = next(i for i, e in enumerate(ends) if p < e)
        alpha = min((p - (ends[idx - 1] if idx else 0)) / cfg["periods"][idx], 1)
        target = floor_of(cfg, BASE_LR, "min_lr")
        return target + cfg["restart_weights"][idx] * (BASE_LR - target) * 0.5 * (math.cos(math.pi * alpha) + 1)
    if kind == "poly":
        min_lr = cfg.get("min_lr", 0.0)
        return (BASE_LR - min_lr) * (1 - p / n) ** cfg.get("power", 1.0) + min_lr
    if kind == "Exp":
        return BASE_LR * cfg["gamma"] ** p
    if kind == "Inv":
        return BASE_LR * (1 + cfg["gamma"] * p) ** -cfg.get("power", 1.0)
    if kind == "cyclic":
        return cyclic(cfg, BASE_LR, it, (10, 1e-4))
    if kind == "OneCycle":
        return one_cycle_lr(cfg, it)
    return BASE_LR


def warmup_factor(cfg, it):
    """The 0.x warmup factor at ``it``, or None after the warmup."""
    if not cfg.get("warmup"):
        return None
    iters = cfg["warmup_iters"] * (EPOCH_LEN if cfg.get("warmup_by_epoch") else 1)
    if it >= iters:
        return None
    ratio = cfg["warmup_ratio"]
    return {"constant": ratio, "linear": 1 - (1 - it / iters) * (1 - ratio),
            "exp": ratio ** (1 - it / iters)}[cfg["warmup"]]


def legacy_lr(cfg, it):
    factor = warmup_factor(cfg, it)
    return regular_lr(cfg, it) * (1 if factor is None else factor)


POLICIES = [
    dict(policy="step", step=[2, 4]),
    dict(policy="step", step=2, gamma=0.5),
    dict(policy="step", step=[7, 20], by_epoch=False),
    dict(policy="step", step=[2, 4], min_lr=0.005),
    dict(policy="step", step=6, min_lr=0.02, by_epoch=False),
    dict(policy="CosineAnnealing", min_lr=0.0),
    dict(policy="CosineAnnealing", by_epoch=False, min_lr=0.01),
    dict(policy="CosineAnnealing", min_lr_ratio=0.05),
    dict(policy="poly", power=0.9, min_lr=0.001, runner="iter"),
    dict(policy="poly", power=2.0),
    dict(policy="poly", power=1.5, min_lr=0.002, by_epoch=False),
    dict(policy="Exp", gamma=0.8),
    dict(policy="Exp", gamma=0.95, by_epoch=False),
    dict(policy="fixed"),
    dict(policy="Inv", gamma=0.5, power=0.75),
    dict(policy="LinearAnnealing", min_lr=0.01, by_epoch=False),
    dict(policy="FlatCosineAnnealing", start_percent=0.5, min_lr_ratio=0.1),
    dict(policy="CosineRestart", periods=[10, 20], restart_weights=[1, 0.5], min_lr=0.0, by_epoch=False),
    dict(policy="cyclic", target_ratio=(10, 1e-4), cyclic_times=1, step_ratio_up=0.4),
    dict(policy="cyclic", target_ratio=(5, 0.01), cyclic_times=2, step_ratio_up=0.3, anneal_strategy="linear",
         gamma=0.5, runner="iter"),
    dict(policy="OneCycle", max_lr=1.0),
    dict(policy="OneCycle", max_lr=0.5, total_steps=40, pct_start=0.25, anneal_strategy="linear",
         div_factor=10, final_div_factor=100, three_phase=True, runner="iter"),
]
WARMUPS = [
    {},
    dict(warmup="linear", warmup_iters=4, warmup_ratio=0.01),
    dict(warmup="constant", warmup_iters=3, warmup_ratio=0.1),
    dict(warmup="linear", warmup_iters=12, warmup_ratio=0.1),
    dict(warmup="exp", warmup_iters=7, warmup_ratio=0.1),
    dict(warmup="linear", warmup_iters=2, warmup_ratio=0.1, warmup_by_epoch=True),
    dict(warmup="exp", warmup_iters=1, warmup_ratio=0.2, warmup_by_epoch=True),
    dict(warmup="constant", warmup_iters=1, warmup_ratio=0.5, warmup_by_epoch=True),
]


def config_text(lr_config, optimizer="dict(type='SGD', lr=0.1, momentum=0.9)", momentum_config=None):
    lr_config = dict(lr_config)
    iter_runner = lr_config.pop("runner", None) == "iter"
    if iter_runner:
        lr_config["by_epoch"] = False  # what an IterBasedRunner counts
    runner = (f"dict(type='IterBasedRunner', max_iters={TOTAL})" if iter_runner
              else f"dict(type='EpochBasedRunner', max_epochs={EPOCHS})")
    text = f"optimizer = {optimizer}\nrunner = {runner}\nlr_config = {lr_config!r}\n"
    if momentum_config is not None:
        text += f"momentum_config = {momentum_config!r}\n"
    return text, lr_config


def warmup_id(w):
    return w.get("warmup", "none") + str(w.get("warmup_iters", "")) + ("ep" if w.get("warmup_by_epoch") else "")


@pytest.mark.parametrize("warmup", WARMUPS, ids=warmup_id)
@pytest.mark.parametrize("policy", POLICIES,
                         ids=lambda p: f"{p['policy']}-{p.get('by_epoch', '')}{p.get('runner', '')}")
def test_translated_schedule_matches_the_legacy_formula(policy, warmup):
    text, lr_config = config_text({**policy, **warmup})
    if warmup.get("warmup_by_epoch") and policy.get("runner") == "iter":
        with pytest.raises(ConfigError, match="lr_config.warmup_by_epoch"):
            Config.fromstring(text, ".py")
        return
    cfg = Config.fromstring(text, ".py")
    lrs = simulate(cfg, dataset_size=EPOCH_LEN)["lr"]
    expected = [legacy_lr(lr_config, it) for it in range(TOTAL)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("lr_config, types", [
    (dict(policy="step", step=[2, 4], warmup="linear", warmup_iters=4, warmup_ratio=0.1), ["LinearLR", "MultiStepLR"]),
    (dict(policy="CosineAnnealing", min_lr=0.0, warmup="constant", warmup_iters=3),
     ["ConstantLR", "CosineAnnealingLR"]),
    (dict(policy="OneCycle", max_lr=1.0), ["OneCycleLR"]),
    (dict(policy="step", step=[2, 4], min_lr=0.005), ["LegacyLR"]),
    (dict(policy="CosineAnnealing", min_lr=0.01, warmup="linear", warmup_iters=3), ["LegacyLR"]),
    (dict(policy="poly", by_epoch=False), ["LegacyLR"]),
    (dict(policy="fixed", warmup="exp", warmup_iters=3), ["LegacyLR"]),
    (dict(policy="cyclic"), ["LegacyLR"]),
])
def test_native_schedulers_are_kept_where_they_are_exact(lr_config, types):
    cfg = Config.fromstring(config_text(lr_config)[0], ".py")
    assert [s["type"] for s in cfg.param_scheduler] == types


# ------------------------------------------------------------- momentum
def regular_momentum(cfg, base, it):
    kind = cfg["policy"]
    by_epoch = cfg.get("by_epoch", kind not in ITERATIVE)
    p, n = (it // EPOCH_LEN, EPOCHS) if by_epoch else (it, TOTAL)
    if kind == "step":
        value = base * cfg.get("gamma", 0.5) ** next((i for i, s in enumerate(cfg["step"]) if p < s), len(cfg["step"]))
        return max(value, cfg["min_momentum"]) if cfg.get("min_momentum") is not None else value
    if kind == "CosineAnnealing":
        return cos_anneal(base, floor_of(cfg, base, "min_momentum"), p / n)
    if kind == "cyclic":
        return cyclic(cfg, base, it, (0.85 / 0.95, 1))
    return one_cycle_momentum(cfg, it)


def legacy_momentum(cfg, base, it):
    regular = regular_momentum(cfg, base, it)
    factor = warmup_factor(cfg, it)
    if factor is None:
        return regular
    if cfg["warmup"] == "constant":  # MMCV 1.x sets nothing: the value from before the iteration loop
        if cfg.get("by_epoch", cfg["policy"] not in ITERATIVE):
            return regular
        return cfg.get("max_momentum", 0.95) if cfg["policy"] == "OneCycle" else base
    return regular / factor


MOMENTUM_POLICIES = [
    dict(policy="cyclic", target_ratio=(0.85 / 0.95, 1), cyclic_times=1, step_ratio_up=0.4),
    dict(policy="cyclic", target_ratio=(0.8, 1.05), cyclic_times=3, anneal_strategy="linear", gamma=0.7),
    dict(policy="OneCycle"),
    dict(policy="OneCycle", base_momentum=0.8, max_momentum=0.9, pct_start=0.4, three_phase=True,
         anneal_strategy="linear"),
    dict(policy="step", step=[2, 4]),
    dict(policy="step", step=[2, 4], gamma=0.8, min_momentum=0.7),
    dict(policy="CosineAnnealing", min_momentum_ratio=0.9, by_epoch=False),
]
MOMENTUM_WARMUPS = [{}, dict(warmup="linear", warmup_iters=4, warmup_ratio=0.95),
                    dict(warmup="exp", warmup_iters=6, warmup_ratio=0.9),
                    dict(warmup="constant", warmup_iters=3, warmup_ratio=0.9)]
OPTIMIZERS = {"SGD": "dict(type='SGD', lr=0.1, momentum=0.9)",
              "Adam": "dict(type='Adam', lr=0.1, betas=(0.9, 0.999))"}


def run_curves(cfg, iters=TOTAL, resume_at=None):
    """(lr, momentum) per iteration, stepping like the runner; optionally resume from state dicts."""
    import torch.nn as nn

    from loomcv.optim import build_optim_wrapper, build_param_schedulers

    def build():
        wrapper = build_optim_wrapper(nn.Linear(1, 1), cfg["optim_wrapper"])
        return wrapper, build_param_schedulers(cfg["param_scheduler"], wrapper, epoch_length=EPOCH_LEN,
                                               max_epochs=EPOCHS)

    wrapper, schedulers = build()
    lrs, momenta = [], []
    for it in range(iters):
        if it == resume_at:
            saved = wrapper.state_dict(), [s.state_dict() for s in schedulers]
            wrapper, schedulers = build()
            wrapper.load_state_dict(saved[0])
            for s, state in zip(schedulers, saved[1]):
                s.load_state_dict(state)
        group = wrapper.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        for s in schedulers:
            if not s.by_epoch:
                s.step()
        if (it + 1) % EPOCH_LEN == 0:
            for s in schedulers:
                if s.by_epoch:
                    s.step()
    return lrs, momenta


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("warmup", MOMENTUM_WARMUPS, ids=warmup_id)
@pytest.mark.parametrize("policy", MOMENTUM_POLICIES, ids=lambda p: f"{p['policy']}-{len(p)}")
def test_translated_momentum_matches_the_legacy_formula(policy, warmup, optimizer):
    momentum_config = {**policy, **warmup}
    lr_config = dict(policy="cyclic") if policy["policy"] == "cyclic" else dict(policy="fixed")
    text, _ = config_text(lr_config, OPTIMIZERS[optimizer], momentum_config)
    cfg = Config.fromstring(text, ".py")
    lrs, momenta = run_curves(cfg)
    assert momenta == pytest.approx([legacy_momentum(momentum_config, 0.9, it) for it in range(TOTAL)],
                                    rel=1e-9, abs=1e-12)
    assert lrs == pytest.approx([legacy_lr(lr_config, it) for it in range(TOTAL)], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("lr_config, momentum_config, optimizer", [
    (dict(policy="cyclic", target_ratio=(10, 1e-4)), dict(policy="cyclic"), "SGD"),
    (dict(policy="OneCycle", max_lr=1.0, warmup="exp", warmup_iters=4, warmup_ratio=0.1),
     dict(policy="OneCycle", warmup="linear", warmup_iters=4, warmup_ratio=0.95), "Adam"),
    (dict(policy="CosineAnnealing", min_lr_ratio=0.01, warmup="exp", warmup_iters=2, warmup_by_epoch=True,
          warmup_ratio=0.1), dict(policy="step", step=[3]), "SGD"),
])
@pytest.mark.parametrize("resume_at", [7, 13])
def test_resume_mid_run_continues_the_same_curve(lr_config, momentum_config, optimizer, resume_at):
    cfg = Config.fromstring(config_text(lr_config, OPTIMIZERS[optimizer], momentum_config)[0], ".py")
    assert run_curves(cfg, resume_at=resume_at) == run_curves(cfg)
    assert run_curves(cfg)[0] == pytest.approx([legacy_lr(lr_config, it) for it in range(TOTAL)], rel=1e-9)


@pytest.mark.parametrize("kwargs, message", [
    (dict(policy="Triangle"), r"LegacyLR: unknown policy 'Triangle' \(known: fixed, step"),
    (dict(policy="step", steps=[2]), r"LegacyLR\(policy='step'\) got unknown arguments steps \(known: step, gamma"),
    (dict(policy="step"), r"LegacyLR\(policy='step'\) needs step"),
    (dict(policy="cyclic", per_epoch=True), "per_epoch must be False"),
    (dict(policy="fixed", by_epoch=True), "convert_to_iter_based=True"),
    (dict(policy="fixed", warmup="cosine", warmup_iters=2), "warmup must be one of constant, linear, exp"),
    (dict(policy="OneCycle", max_lr=1.0, total_steps=10), r"total_steps \(10\) must be at least the run length"),
    (dict(policy="CosineRestart", periods=[10, 20], min_lr=0.0, per_epoch=False),
     "one restart_weights entry per period"),
])
def test_legacy_scheduler_arguments_are_checked(kwargs, message):
    import torch

    from loomcv.legacy.schedulers import LegacyLR

    optimizer = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ConfigError, match=message):
        LegacyLR(optimizer, end=TOTAL, **kwargs)
