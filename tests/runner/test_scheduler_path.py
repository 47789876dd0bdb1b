"""plot-lr draws the learning rate training really uses: one builder, one stepping rule."""

import copy
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.cli.plot_lr import simulate  # noqa: E402
from loomcv.hooks import Hook  # noqa: E402
from loomcv.registry import HOOKS  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(120)


@HOOKS.register_module(force=True)
class RecordLrPerIter(Hook):
    """Keeps the lr and momentum of the first param group as each training iteration starts."""

    lrs: list = []
    momenta: list = []

    def before_train(self, runner):
        RecordLrPerIter.lrs, RecordLrPerIter.momenta = [], []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        RecordLrPerIter.lrs.append(runner.optim_wrapper.get_lr()["lr"][0])
        RecordLrPerIter.momenta.append(runner.optim_wrapper.get_momentum()["momentum"][0])


def _train_and_simulate(tmp_path, schedulers, **loop):
    cfg = T.tiny_config(tmp_path / "wd", num=64, batch_size=8, param_scheduler=schedulers,  # 8 iters per epoch
                        custom_hooks=[dict(type="RecordLrPerIter")], **loop)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=-1, save_last=False)
    expected = simulate(copy.deepcopy(cfg), dataset_size=64)
    Runner.from_cfg(cfg).train()
    return RecordLrPerIter.lrs, RecordLrPerIter.momenta, expected


def test_warmup_by_iter_and_multistep_by_epoch_match_training(tmp_path):
    lrs, momenta, expected = _train_and_simulate(tmp_path, [
        dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=5),
        dict(type="MultiStepLR", milestones=[1, 3], gamma=0.5, by_epoch=True)], max_epochs=4)
    assert len(lrs) == 32
    assert lrs == expected["lr"]  # exactly: the same schedulers stepped by the same rule
    assert momenta == expected["momentum"]
    # and the curve is the intended one: warmup over 5 iterations, halvings after epochs 1 and 3
    assert lrs[0] == pytest.approx(0.01) and lrs[5] == pytest.approx(0.1)
    assert lrs[8] == pytest.approx(0.05) and lrs[24] == pytest.approx(0.025)


def test_converted_epoch_schedulers_and_momentum_match_training(tmp_path):
    lrs, momenta, expected = _train_and_simulate(tmp_path, [
        dict(type="LinearLR", start_factor=0.2, by_epoch=True, end=1, convert_to_iter_based=True),
        dict(type="CosineAnnealingLR", by_epoch=True, begin=1, eta_min=0.001, convert_to_iter_based=True),
        dict(type="CosineAnnealingMomentum", by_epoch=True, begin=0, eta_min=0.5)], max_epochs=3)
    assert lrs == expected["lr"] and momenta == expected["momentum"]
    assert len(set(lrs[8:16])) == 8  # the converted cosine moves every iteration
    assert momenta[0] == 0.9 and len(set(momenta[:8])) == 1 and momenta[8] < 0.9  # momentum moves per epoch


def test_iteration_based_training_matches(tmp_path):
    lrs, _, expected = _train_and_simulate(tmp_path, [
        dict(type="LinearLR", start_factor=0.5, by_epoch=False, end=4),
        dict(type="MultiStepLR", milestones=[6, 15], gamma=0.1, by_epoch=False)], by_epoch=False, max_iters=20)
    assert len(lrs) == 20 and lrs == expected["lr"]
    assert lrs[-1] == pytest.approx(0.001)
