"""Translated lr_config schedules give the 0.x policy's lr at every iteration.

The 0.x formulas are written out here directly (MMCV 1.x LrUpdaterHook
semantics): the regular lr follows the policy per epoch (by_epoch=True) or
per iteration, and during warmup the lr is the regular lr times the warmup
factor of the current iteration.
"""

import math

import pytest

from loomcv.cli.plot_lr import simulate
from loomcv.config import Config
from loomcv.errors import ConfigError

BASE_LR, EPOCHS, EPOCH_LEN = 0.1, 6, 5


def regular_lr(policy, progress, max_progress):
    kind = policy["policy"].lower()
    if kind == "step":
        steps = policy["step"]
        if isinstance(steps, int):
            exp = progress // steps
        else:
            exp = next((i for i, s in enumerate(steps) if progress < s), len(steps))
        return BASE_LR * policy.get("gamma", 0.1) ** exp
    if kind == "cosineannealing":
        target = BASE_LR * policy["min_lr_ratio"] if "min_lr_ratio" in policy else policy.get("min_lr", 0)
        return target + (BASE_LR - target) * 0.5 * (math.cos(math.pi * progress / max_progress) + 1)
    if kind == "poly":
        min_lr = policy.get("min_lr", 0.0)
        return (BASE_LR - min_lr) * (1 - progress / max_progress) ** policy.get("power", 1.0) + min_lr
    if kind == "exp":
        return BASE_LR * policy["gamma"] ** progress
    return BASE_LR


def legacy_lr(policy, it):
    by_epoch = policy.get("by_epoch", True)
    progress, max_progress = (it // EPOCH_LEN, EPOCHS) if by_epoch else (it, EPOCHS * EPOCH_LEN)
    lr = regular_lr(policy, progress, max_progress)
    warmup = policy.get("warmup")
    if warmup:
        iters = policy["warmup_iters"] * (EPOCH_LEN if policy.get("warmup_by_epoch") else 1)
        if it < iters:
            ratio = policy["warmup_ratio"]
            if warmup == "linear":
                lr *= 1 - (1 - it / iters) * (1 - ratio)
            elif warmup == "constant":
                lr *= ratio
    return lr


POLICIES = [
    dict(policy="step", step=[2, 4]),
    dict(policy="step", step=2, gamma=0.5),
    dict(policy="step", step=[7, 20], by_epoch=False),
    dict(policy="CosineAnnealing", min_lr=0.0),
    dict(policy="CosineAnnealing", by_epoch=False, min_lr=0.0),
    dict(policy="poly", power=0.9, min_lr=0.001, runner="iter"),
    dict(policy="poly", power=2.0),
    dict(policy="Exp", gamma=0.8),
    dict(policy="fixed"),
]
WARMUPS = [
    {},
    dict(warmup="linear", warmup_iters=4, warmup_ratio=0.01),
    dict(warmup="constant", warmup_iters=3, warmup_ratio=0.1),
    dict(warmup="linear", warmup_iters=12, warmup_ratio=0.1),
]


@pytest.mark.parametrize("warmup", WARMUPS, ids=lambda w: w.get("warmup", "none") + str(w.get("warmup_iters", "")))
@pytest.mark.parametrize("policy", POLICIES, ids=lambda p: f"{p['policy']}-{p.get('by_epoch', True)}")
def test_translated_schedule_matches_the_legacy_formula(policy, warmup):
    policy = dict(policy)
    lr_config = {**policy, **warmup}
    iter_runner = lr_config.pop("runner", None) == "iter"
    if iter_runner:
        lr_config["by_epoch"] = False
    runner = (f"dict(type='IterBasedRunner', max_iters={EPOCHS * EPOCH_LEN})" if iter_runner
              else f"dict(type='EpochBasedRunner', max_epochs={EPOCHS})")
    text = (f"optimizer = dict(type='SGD', lr={BASE_LR}, momentum=0.9)\n"
            f"runner = {runner}\nlr_config = {lr_config!r}\n")
    if lr_config.get("warmup") and (lr_config.get("min_lr") or lr_config.get("min_lr_ratio")):
        with pytest.raises(ConfigError, match="warmup over a policy with a floor"):
            Config.fromstring(text, ".py")
        return
    cfg = Config.fromstring(text, ".py")
    lrs = simulate(cfg, dataset_size=EPOCH_LEN)["lr"]
    expected = [legacy_lr(lr_config, it) for it in range(EPOCHS * EPOCH_LEN)]
    assert lrs == pytest.approx(expected, rel=1e-9, abs=1e-12)
