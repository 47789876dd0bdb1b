"""Hook base class: stages, priorities, per-stage dispatch."""

import pytest

from loomcv.hooks import STAGES, Hook, Priority, get_priority
from loomcv.hooks.priority import priority_name

pytestmark = pytest.mark.timeout(30)


def test_priority_names_and_numbers():
    table = dict(HIGHEST=0, VERY_HIGH=10, HIGH=30, ABOVE_NORMAL=40, NORMAL=50, BELOW_NORMAL=60, LOW=70,
                 VERY_LOW=90, LOWEST=100)
    for name, value in table.items():
        assert get_priority(name) == value
        assert get_priority(name.lower()) == value
        assert get_priority(Priority[name]) == value
        assert priority_name(value) == name
    assert get_priority(42) == 42
    with pytest.raises(ValueError, match="Did you mean: 'NORMAL'"):
        get_priority("NORMALL")
    with pytest.raises(ValueError, match="between 0"):
        get_priority(101)
    with pytest.raises(TypeError):
        get_priority(1.5)


def test_base_hook_has_every_stage_and_subclass_reports_overridden_ones():
    for stage in STAGES:
        assert callable(getattr(Hook, stage))
    assert Hook().stages() == ()

    class OnlyEpochs(Hook):
        def before_train_epoch(self, runner):
            pass

        def after_val_epoch(self, runner, metrics=None):
            pass

    assert OnlyEpochs().stages() == ("before_train_epoch", "after_val_epoch")


def test_every_n_helpers():
    class R:
        epoch, iter = 3, 9
    assert Hook.every_n_epochs(R, 2)        # 4 epochs done
    assert not Hook.every_n_epochs(R, 3)
    assert Hook.every_n_train_iters(R, 5)   # 10 iterations done
    assert not Hook.every_n_train_iters(R, 0)
    assert Hook.every_n_inner_iters(3, 4) and not Hook.every_n_inner_iters(4, 4)
