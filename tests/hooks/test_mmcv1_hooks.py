"""Hooks written for MMCV 1.x run on the native Runner at the points MMCV 1.x called them."""

import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), "runner"))
import tiny_components as T  # noqa: E402

from loomcv.hooks import Hook  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(60)


class GenericCounter(Hook):
    """The MMCV 1.x way: one method for training and validation alike."""

    def __init__(self):
        self.calls = []

    def before_epoch(self, runner):
        self.calls.append("before_epoch")

    def after_epoch(self, runner):
        self.calls.append("after_epoch")

    def before_iter(self, runner):
        self.calls.append("before_iter")

    def after_iter(self, runner):
        self.calls.append("after_iter")


def test_generic_epoch_and_iter_methods_run_in_training_and_validation(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1, num=16, batch_size=8)  # 2 train + 4 val iterations
    hook = GenericCounter()
    runner = Runner.from_cfg(cfg)
    runner.register_hook(hook)
    assert set(hook.stages()) == {"before_train_epoch", "before_val_epoch", "after_train_epoch",
                                  "after_val_epoch", "before_train_iter", "before_val_iter",
                                  "after_train_iter", "after_val_iter"}
    runner.train()
    train_part = ["before_epoch"] + ["before_iter", "after_iter"] * 2
    val_part = ["before_epoch"] + ["before_iter", "after_iter"] * 4 + ["after_epoch"]
    assert hook.calls == train_part + ["after_epoch"] + val_part
    hook.calls.clear()
    runner.test()
    assert hook.calls == []  # MMCV 1.x had no test phase; the generic methods stay out of it
    assert hook.get_triggered_stages() == list(hook.stages())


def test_a_specific_override_wins_over_the_generic_method():
    class Both(GenericCounter):
        def before_train_epoch(self, runner):
            self.calls.append("own")

    hook = Both()
    hook.before_train_epoch(None)
    hook.before_val_epoch(None)
    assert hook.calls == ["own", "before_epoch"]


def test_runner_only_stage_signatures_are_called_without_the_batch(tmp_path):
    with pytest.warns(FutureWarning, match=r"after_train_iter\(self, runner\) has MMCV 1.x.s signature: it runs, "
                                           r"called without batch_idx, data_batch, outputs"):
        class OldStyle(Hook):
            def __init__(self):
                self.seen = []

            def after_train_iter(self, runner):
                if self.every_n_iters(runner, 2):
                    self.seen.append(runner.iter + 1)

            def after_val_epoch(self, runner):
                self.seen.append("val")

    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1, num=32, batch_size=8)  # 4 iterations
    runner = Runner.from_cfg(cfg)
    hook = OldStyle()
    runner.register_hook(hook)
    runner.train()
    assert hook.seen == [2, 4, "val"]


def test_a_missing_1x_runner_attribute_says_what_to_write(tmp_path):
    class ReadsOutputs(Hook):
        def after_iter(self, runner):
            runner.outputs["loss"]

    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1, num=8, batch_size=8)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(ReadsOutputs())
    with pytest.raises(AttributeError, match=r"ReadsOutputs.after_iter: runner.outputs is MMCV 1.x's Runner API"
                                             r".*def after_train_iter\(self, runner, batch_idx"):
        runner.train()


def test_1x_helpers_that_need_the_batch_index_say_how_to_call_them():
    with pytest.raises(TypeError, match=r"self.end_of_epoch\(runner.train_dataloader, batch_idx\)"):
        Hook.end_of_epoch(object())
    with pytest.raises(TypeError, match=r"self.every_n_inner_iters\(batch_idx, n\)"):
        Hook.every_n_inner_iters(object(), 2)
    assert Hook.end_of_epoch([1, 2, 3], 2) and Hook.every_n_inner_iters(3, 2)

    class R:
        epoch, iter, max_epochs, max_iters = 4, 9, 5, 20
    assert Hook.is_last_epoch(R) and not Hook.is_last_iter(R) and Hook.every_n_iters(R, 5)
