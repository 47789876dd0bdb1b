"""Best checkpoints resume like periodic ones; iteration-based resume seeks the sampler; config diff at resume."""

import os.path as osp
import shutil
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.config import Config  # noqa: E402
from loomcv.evaluator import BaseMetric  # noqa: E402
from loomcv.logging import MessageHub  # noqa: E402
from loomcv.checkpoint import _load_checkpoint  # noqa: E402
from loomcv.registry import DATASETS, METRICS  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@DATASETS.register_module(force=True)
class CountingPoints(T.TinyPoints):
    """TinyPoints that counts the items it loads (class-wide, reset by the tests)."""

    loads = 0

    def __getitem__(self, idx):
        CountingPoints.loads += 1
        return super().__getitem__(idx)


@METRICS.register_module(force=True)
class ScriptedScore(BaseMetric):
    """A score set per epoch (or iteration) of training, so the test decides where the best is."""

    def __init__(self, scores: dict, by: str = "epoch", **kwargs):
        super().__init__(**kwargs)
        self.scores, self.by = {int(k): v for k, v in scores.items()}, by

    def process(self, data_batch, data_samples):
        self.results.append(0)

    def compute_metrics(self, results):
        done = MessageHub.get_current_instance().get_info(self.by) + 1  # epochs/iterations finished
        return dict(score=self.scores[done])


def _weights(path):
    ckpt = _load_checkpoint(path)
    return ckpt["state_dict"], ckpt["optimizer"]


def _assert_identical(a, b):
    assert a[0].keys() == b[0].keys()
    for key in a[0]:
        assert torch.equal(a[0][key], b[0][key]), key
    assert a[1]["param_groups"][0]["lr"] == b[1]["param_groups"][0]["lr"]
    for sa, sb in zip(a[1]["state"].values(), b[1]["state"].values()):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])


def test_resume_from_best_epoch_checkpoint_ends_bit_identical(tmp_path):
    cfg = T.tiny_config(tmp_path / "a", max_epochs=4,
                        val_evaluator=dict(type="ScriptedScore", scores={1: 0.1, 2: 0.9, 3: 0.5, 4: 0.7}))
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1, save_best="score",
                                              rule="greater")
    cfg["param_scheduler"] = [dict(type="MultiStepLR", milestones=[3], gamma=0.1, by_epoch=True)]
    Runner.from_cfg(cfg).train()
    best = tmp_path / "a" / "best_score_epoch_2.pth"
    meta = _load_checkpoint(str(best))["meta"]
    assert (meta["epoch"], meta["iter"], meta["inner_iter"]) == (2, 16, 0)
    saved = tmp_path / "best.pth"
    shutil.copy(best, saved)

    resumed = Runner.from_cfg(dict(cfg, work_dir=str(tmp_path / "b"), resume=str(saved)))
    resumed.train()
    assert resumed.message_hub.get_info("best_score_score") == 0.9  # epoch 4's 0.7 did not beat it
    _assert_identical(_weights(tmp_path / "a" / "epoch_4.pth"), _weights(tmp_path / "b" / "epoch_4.pth"))


@pytest.mark.parametrize("sampler", ["DefaultSampler", "InfiniteSampler"])
def test_iteration_based_resume_from_best_seeks_the_sampler(tmp_path, sampler):
    # 64 points, batches of 8: a pass is 8 iterations; the best (iteration 20) is 4 batches into pass 3
    cfg = T.tiny_config(tmp_path / "a", by_epoch=False, max_iters=30,
                        val_evaluator=dict(type="ScriptedScore", by="iter", scores={10: 1.0, 20: 2.0, 30: 0.0}))
    cfg["train_dataloader"]["dataset"]["type"] = "CountingPoints"
    cfg["train_dataloader"]["sampler"] = dict(type=sampler, shuffle=True)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=10, by_epoch=False,
                                              save_best="score", rule="greater")
    Runner.from_cfg(cfg).train()
    best = str(tmp_path / "a" / "best_score_iter_20.pth")
    meta = _load_checkpoint(best)["meta"]
    assert meta["iter"] == 20 and meta["inner_iter"] == (4 if sampler == "DefaultSampler" else 20)

    CountingPoints.loads = 0
    Runner.from_cfg(dict(cfg, work_dir=str(tmp_path / "b"), resume=best)).train()
    assert CountingPoints.loads == 10 * 8  # only the 10 remaining iterations' samples were loaded
    _assert_identical(_weights(tmp_path / "a" / "iter_30.pth"), _weights(tmp_path / "b" / "iter_30.pth"))


def _log(runner):
    with open(osp.join(runner.log_dir, f"{runner.timestamp}.log")) as f:
        return f.read()


def test_config_differences_are_logged_at_resume(tmp_path):
    path = tmp_path / "tiny.py"
    Config(T.tiny_config(tmp_path / "wd", max_epochs=2)).dump(str(path))
    Runner.from_cfg(Config.fromfile(str(path))).train()
    stored = _load_checkpoint(str(tmp_path / "wd" / "epoch_2.pth"))["meta"]["cfg_dict"]
    assert stored["train_cfg"]["max_epochs"] == 2

    same = Config.fromfile(str(path))
    same.resume = True
    runner = Runner.from_cfg(same)
    runner.train()  # already at max_epochs: resumes and stops
    assert "the config matches the one" in _log(runner)

    text = path.read_text()
    assert "max_epochs=2" in text
    path.write_text(text.replace("max_epochs=2", "max_epochs=3"))
    line = next(i for i, row in enumerate(path.read_text().splitlines(), 1) if "max_epochs=3" in row)
    changed = Config.fromfile(str(path))
    changed.merge_from_options(["optim_wrapper.optimizer.lr=0.05"])
    changed.resume = True
    runner = Runner.from_cfg(changed)
    runner.train()
    log = _log(runner)
    assert "the config differs from the one" in log and "(2 change(s), old -> new)" in log
    assert f"train_cfg.max_epochs: 2 -> 3  ({path}:{line})" in log
    assert "optim_wrapper.optimizer.lr: 0.1 -> 0.05  (--cfg-options optim_wrapper.optimizer.lr)" in log
    assert runner.epoch == 3
    # the optimizer state (with its learning rate) comes from the checkpoint, not from the new lr
    saved_lr = _load_checkpoint(str(tmp_path / "wd" / "epoch_2.pth"))["optimizer"]["param_groups"][0]["lr"]
    assert runner.optim_wrapper.get_lr()["lr"][0] == pytest.approx(saved_lr) != 0.05
