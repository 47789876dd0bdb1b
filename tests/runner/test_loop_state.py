"""Train loops tell where they stand (state) and continue from there (restore)."""

import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.optim import step_param_schedulers  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_restore_round_trips_and_continues_mid_epoch(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=2, num=64, batch_size=8)
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    assert loop.state() == dict(epoch=0, iter=0, inner_iter=0)
    loop.restore(dict(epoch=1, iter=11, inner_iter=3))
    assert loop.state() == dict(epoch=1, iter=11, inner_iter=3)
    assert (runner.epoch, runner.iter) == (1, 11)
    seen = []
    runner.register_hook(_Recorder(seen))
    runner.train()
    assert seen == list(range(3, 8))  # the rest of epoch 1, no batch repeated
    assert loop.state() == dict(epoch=2, iter=16, inner_iter=0)
    with pytest.raises(ValueError, match="missing \\['iter'\\]"):
        loop.restore(dict(epoch=1))


class _Recorder(T.Hook):
    def __init__(self, seen):
        self.seen = seen

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.seen.append(batch_idx)


class _Sched:
    def __init__(self, by_epoch, need_val_args=False):
        self.by_epoch, self.need_val_args, self.calls = by_epoch, need_val_args, []

    def step(self, *args):
        self.calls.append(args)


def test_one_rule_says_which_scheduler_steps_when():
    per_iter, per_epoch, plateau = _Sched(False), _Sched(True), _Sched(True, need_val_args=True)
    group = dict(a=[per_iter], b=[per_epoch, plateau])  # an OptimWrapperDict's schedulers
    step_param_schedulers(group, "iter")
    step_param_schedulers(group, "epoch")
    step_param_schedulers(group, "val", dict(loss=1.0))
    assert per_iter.calls == [()] and per_epoch.calls == [()] and plateau.calls == [(dict(loss=1.0),)]
    step_param_schedulers(None, "iter")  # no schedulers configured
    with pytest.raises(ValueError, match="event must be one of"):
        step_param_schedulers([per_iter], "batch")
