"""End-to-end training through Runner.from_cfg with tiny components: files, logs, checkpoints."""

import json
import os
import os.path as osp
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.checkpoint import _load_checkpoint  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _log_text(work_dir):
    (stamp,) = [d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d))]
    with open(osp.join(work_dir, stamp, f"{stamp}.log")) as f:
        return stamp, f.read()


def _scalars(work_dir, stamp):
    with open(osp.join(work_dir, stamp, "vis_data", "scalars.json")) as f:
        return [json.loads(line) for line in f]


def test_epoch_based_training_checkpoints_best_and_logs(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=4)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1, max_keep_ckpts=2,
                                              save_best="auto")
    runner = Runner.from_cfg(cfg)
    runner.train()
    wd = str(tmp_path / "wd")
    files = sorted(f for f in os.listdir(wd) if f.endswith(".pth"))
    best = [f for f in files if f.startswith("best_")]
    assert [f for f in files if not f.startswith("best_")] == ["epoch_3.pth", "epoch_4.pth"]  # max_keep_ckpts=2
    assert len(best) == 1 and best[0].startswith("best_tiny_accuracy_epoch_")
    with open(osp.join(wd, "last_checkpoint")) as f:
        assert f.read() == osp.join(wd, "epoch_4.pth")

    ckpt = _load_checkpoint(osp.join(wd, "epoch_4.pth"))  # weights_only=True
    assert {"meta", "state_dict", "optimizer", "param_schedulers", "message_hub"} <= set(ckpt)
    assert ckpt["meta"]["epoch"] == 4 and ckpt["meta"]["iter"] == 32 and ckpt["meta"]["seed"] == 7
    assert ckpt["meta"]["dataset_meta"] == dict(classes=("left", "right"))
    assert set(ckpt["state_dict"]) == set(runner.model.state_dict())
    assert ckpt["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.01)  # MultiStepLR at epoch 2

    stamp, log = _log_text(wd)
    assert "Epoch(train) [4][8/8]  lr: 1.0000e-02  eta: " in log
    assert "Epoch(train) [1][4/8]  lr: 1.0000e-01" in log
    assert "Epoch(val) [4][4/4]    tiny/accuracy: " in log
    assert "seed: 7" in log and "torch: " in log
    assert "before_train_iter:" in log and "(VERY_HIGH   ) RuntimeInfoHook" in log
    assert osp.isfile(osp.join(wd, stamp, f"{stamp}.py"))  # dumped config
    rows = _scalars(wd, stamp)
    train_rows = [r for r in rows if "loss" in r]
    assert [r["step"] for r in train_rows] == [4, 8, 12, 16, 20, 24, 28, 32]
    val_rows = [r for r in rows if "tiny/accuracy" in r]
    assert [r["step"] for r in val_rows] == [1, 2, 3, 4]
    best_acc = max(r["tiny/accuracy"] for r in val_rows)
    assert runner.message_hub.get_info("best_score") == best_acc


def test_iter_based_training_restarts_dataloader_and_validates(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", by_epoch=False, max_iters=20)
    cfg["train_cfg"] = dict(by_epoch=False, max_iters=20, val_interval=10)
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=10, by_epoch=False)
    cfg["log_processor"] = dict(by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    wd = str(tmp_path / "wd")
    assert sorted(f for f in os.listdir(wd) if f.endswith(".pth")) == ["iter_10.pth", "iter_20.pth"]
    assert runner.iter == 20 and runner.epoch == 2  # 8 batches per pass: two full passes done
    stamp, log = _log_text(wd)
    assert "Iter(train) [20/20]  lr: " in log
    assert log.count("Iter(val) [4/4]") == 2
    meta = _load_checkpoint(osp.join(wd, "iter_20.pth"))["meta"]
    assert meta["iter"] == 20 and meta["inner_iter"] == 4


def test_dynamic_intervals_and_val_begin(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=6)
    cfg["train_cfg"] = dict(by_epoch=True, max_epochs=6, val_begin=2, val_interval=3,
                            dynamic_intervals=[(4, 1)])
    runner = Runner.from_cfg(cfg)
    seen = []
    runner.register_hook(type("Spy", (T.Hook,), dict(
        after_val_epoch=lambda self, r, metrics=None: seen.append(r.epoch)))())
    runner.train()
    assert seen == [3, 4, 5, 6]  # interval 3 until epoch 4, then every epoch


def test_val_and_test_with_load_from_match_training(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=2)
    runner = Runner.from_cfg(cfg)
    runner.train()
    trained = runner.message_hub.get_info("val_metrics")["tiny/accuracy"]
    ckpt = str(tmp_path / "wd" / "epoch_2.pth")
    cfg2 = T.tiny_config(tmp_path / "wd2", load_from=ckpt)
    for key in ("train_dataloader", "train_cfg", "optim_wrapper", "param_scheduler"):
        cfg2.pop(key)
    runner2 = Runner.from_cfg(cfg2)
    assert runner2.val()["tiny/accuracy"] == trained
    assert runner2.test()["tiny/accuracy"] == trained


def test_incomplete_and_bad_configs_name_the_problem(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd")
    cfg.pop("optim_wrapper")
    with pytest.raises(ValueError, match="optim_wrapper"):
        Runner.from_cfg(cfg)
    cfg = T.tiny_config(tmp_path / "wd", launcher="pytroch")
    with pytest.raises(ValueError, match="Did you mean: 'pytorch'"):
        Runner.from_cfg(cfg)
    cfg = T.tiny_config(tmp_path / "wd", randomness=dict(sed=1))
    with pytest.raises(ValueError, match="sed"):
        Runner.from_cfg(cfg)


def test_hook_priorities_are_stable_and_unused_stages_are_skipped(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1)
    calls = []

    def make(name):
        return type(name, (T.Hook,), dict(before_train=lambda self, r: calls.append(name)))()

    runner = Runner.from_cfg(cfg)
    runner.register_hook(make("A"), "LOW")
    runner.register_hook(make("B"), 70)
    runner.register_hook(make("C"), "HIGHEST")
    runner.register_hook(make("D"))  # NORMAL
    runner.train()
    assert calls == ["C", "D", "A", "B"]
    assert all("before_train" in type(h).stages(h) or h not in runner._stage_hooks["before_train"]
               for h in runner.hooks)
    # hooks that do not override a stage are not in its list at all
    assert [type(h).__name__ for h in runner._stage_hooks["before_train_iter"]] == \
        ["RuntimeInfoHook", "IterTimerHook"]
