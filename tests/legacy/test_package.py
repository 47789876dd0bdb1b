"""loomcv.legacy: one package for the MMCV 1.x compatibility; configs and old imports still find it."""

import importlib
import sys

import pytest
import loomcv.legacy
from loomcv.cli.plot_lr import simulate
from loomcv.config import Config
from loomcv.errors import ConfigError
from loomcv.legacy.hooks import ValLossHook
from loomcv.legacy.policies import POLICIES, REQUIRED, policies_of
from loomcv.legacy.schedulers import LegacyLR, LegacyMomentum
from loomcv.legacy.transforms import Collect
from loomcv.registry import HOOKS, PARAM_SCHEDULERS, TRANSFORMS


@pytest.mark.parametrize("registry, name, cls", [
    (PARAM_SCHEDULERS, "LegacyLR", LegacyLR), (PARAM_SCHEDULERS, "LegacyMomentum", LegacyMomentum),
    (HOOKS, "ValLossHook", ValLossHook), (TRANSFORMS, "Collect", Collect)])
def test_configs_find_the_moved_classes_by_name(registry, name, cls):
    assert registry.get(name) is cls
    assert registry.get(f"loomcv.{name}") is cls


def test_the_package_names_its_parts_lazily():
    assert loomcv.legacy.LegacyLR is LegacyLR and loomcv.legacy.ValLossHook is ValLossHook
    assert loomcv.legacy.Collect is Collect and loomcv.legacy.translate.__module__ == "loomcv.legacy.config"
    with pytest.raises(AttributeError, match="'loomcv.legacy' has no attribute 'LegacyStepLR'"):
        loomcv.legacy.LegacyStepLR


@pytest.mark.parametrize("module, name, new", [
    ("loomcv.config.legacy", "translate", "loomcv.legacy.config"),
    ("loomcv.optim.scheduler.legacy_scheduler", "LegacyLR", "loomcv.legacy.schedulers"),
    ("loomcv.hooks.val_loss_hook", "ValLossHook", "loomcv.legacy.hooks"),
])
def test_old_modules_warn_and_give_the_moved_objects(module, name, new):
    sys.modules.pop(module, None)  # the warning comes with the import
    with pytest.warns(DeprecationWarning, match=f"{module} moved to {new}"):
        old = importlib.import_module(module)
    assert getattr(old, name) is getattr(importlib.import_module(new), name)


@pytest.mark.parametrize("package, name, new", [
    ("loomcv.transforms", "Collect", "loomcv.legacy.transforms"),
    ("loomcv.hooks", "ValLossHook", "loomcv.legacy.hooks"),
    ("loomcv.optim", "LegacyLR", "loomcv.legacy.schedulers"),
    ("loomcv.optim.scheduler", "LegacyMomentum", "loomcv.legacy.schedulers"),
])
def test_old_package_names_warn_and_give_the_moved_objects(package, name, new):
    with pytest.warns(DeprecationWarning, match=f"{package}.{name} moved to {new}.{name}"):
        old = getattr(importlib.import_module(package), name)
    assert old is getattr(importlib.import_module(new), name)
    assert name not in importlib.import_module(package).__all__  # star imports stay quiet
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'Nope'"):
        importlib.import_module(package).Nope


def test_mmpretrain_path_keeps_collect():
    from loomcls.datasets.transforms import Collect as from_loomcls
    assert from_loomcls is Collect


# ------------------------------------------------------------ the policy table
SAMPLE = {"step": [2, 4], "gamma": 0.5, "periods": [6], "max_lr": 0.5}


def policy_config(policy, updater):
    """A config section with the policy's required arguments, and a floor where one is needed."""
    args = policy.arguments(updater)
    cfg = {"policy": policy.name, **{k: SAMPLE[k] for k, d in args.items() if d is REQUIRED}}
    if policy.floor:
        cfg[f"min_{updater}"] = 0.01
    if policy.per_iteration:
        cfg["by_epoch"] = False
    return cfg


@pytest.mark.parametrize("updater, policy", [(u, p) for u in ("lr", "momentum") for p in policies_of(u).values()],
                         ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_table_policy_translates_and_runs(updater, policy):
    section = policy_config(policy, updater)
    lr_config = section if updater == "lr" else {"policy": "fixed"}
    text = (f"optimizer = dict(type='SGD', lr=0.1, momentum=0.9)\nrunner = dict(max_epochs=6)\n"
            f"lr_config = {lr_config!r}\n" + (f"momentum_config = {section!r}\n" if updater == "momentum" else ""))
    values = simulate(Config.fromstring(text, ".py"), dataset_size=5)[updater]
    assert len(values) == 30 and all(0 <= v <= 1 for v in values)
    if policy.name != "fixed":
        assert len(set(values)) > 1, f"{policy.name} left the {updater} constant"


def test_table_spellings_match_any_case_and_list_mmcv_names():
    assert POLICIES["cosineannealing"].name == "CosineAnnealing" and POLICIES["onecycle"].per_iteration
    cfg = Config.fromstring("runner = dict(max_epochs=2)\nlr_config = dict(policy='COSINEANNEALING')\n", ".py")
    assert cfg.param_scheduler[0]["type"] == "CosineAnnealingLR"
    with pytest.raises(ConfigError, match=r"'Triangle' is not an MMCV 1.x policy here \(known: fixed, step, Exp, "
                                          r"Inv, poly, CosineAnnealing"):
        Config.fromstring("runner = dict(max_epochs=2)\nlr_config = dict(policy='Triangle')\n", ".py")
    with pytest.raises(ConfigError, match=r"'Exp' is not an MMCV 1.x policy here \(known: step, CosineAnnealing, "
                                          r"cyclic, OneCycle\)"):
        Config.fromstring("runner = dict(max_epochs=2)\nmomentum_config = dict(policy='Exp', gamma=0.9)\n", ".py")


@pytest.mark.parametrize("section, missing", [
    ("dict(policy='step')", "step"), ("dict(policy='Inv', power=2)", "gamma"),
    ("dict(policy='OneCycle', by_epoch=False)", "max_lr")])
def test_a_missing_required_policy_argument_is_named(section, missing):
    with pytest.raises(ConfigError, match=f"legacy config key lr_config: the '.*' policy needs {missing}"):
        Config.fromstring(f"runner = dict(max_epochs=2)\nlr_config = {section}\n", ".py")
