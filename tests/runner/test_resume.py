"""Exact resume: runs killed (SIGKILL) or stopped (SIGTERM) mid-epoch continue bit-identically."""

import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.checkpoint import _load_checkpoint  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(120)
HERE = osp.dirname(osp.abspath(__file__))


def _config(path, work_dir, custom_hooks=()):
    cfg = T.tiny_config(work_dir, max_epochs=3)
    # checkpoints every 5 iterations: inside epochs of 8, so resuming needs the sampler position
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=5, by_epoch=False)
    cfg["custom_hooks"] = [dict(type="EMAHook", momentum=0.1)] + list(custom_hooks)
    with open(path, "w") as f:
        json.dump(cfg, f)
    return str(path)


def _train(config, *extra):
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""), CI="1")
    return subprocess.run([sys.executable, "-m", "loomcv", "train", config, *extra], env=env,
                          capture_output=True, text=True, timeout=100)


def _final_weights(work_dir):
    ckpt = _load_checkpoint(osp.join(work_dir, "iter_24.pth"))
    return ckpt["state_dict"], ckpt["ema_state_dict"], ckpt["optimizer"]


def _log_of_latest_run(work_dir):
    stamp = sorted(d for d in os.listdir(work_dir) if osp.isdir(osp.join(work_dir, d)))[-1]
    with open(osp.join(work_dir, stamp, f"{stamp}.log")) as f:
        return stamp, f.read()


def _assert_identical(a, b):
    for part_a, part_b in zip(a[:2], b[:2]):
        assert part_a.keys() == part_b.keys()
        for key in part_a:
            assert torch.equal(part_a[key], part_b[key]), key
    for sa, sb in zip(a[2]["state"].values(), b[2]["state"].values()):
        assert torch.equal(sa["momentum_buffer"], sb["momentum_buffer"])


def _train_in_process(config, resume=False):
    from loomcv.config import Config
    cfg = Config.fromfile(config)
    cfg.resume = resume
    Runner.from_cfg(cfg).train()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("reference")
    _train_in_process(_config(root / "cfg.json", root / "wd"))
    return _final_weights(str(root / "wd"))


@pytest.mark.parametrize("signal_name, at_iter, expected_rc, resumed_from", [
    ("SIGKILL", 13, -9, "iter_10.pth"),    # dies mid-epoch 2; the last periodic checkpoint is iter 10
    ("SIGTERM", 11, 128 + 15, "iter_11.pth"),  # finishes iteration 11, saves it, exits non-zero
])
def test_interrupted_run_resumes_bit_identically(tmp_path, reference, signal_name, at_iter, expected_rc,
                                                  resumed_from):
    wd = tmp_path / "wd"
    killer = dict(type="SignalAtIter", at_iter=at_iter, signal_name=signal_name)
    first = _train(_config(tmp_path / "first.json", wd, [killer]))
    assert first.returncode == expected_rc, first.stderr[-3000:]
    with open(wd / "last_checkpoint") as f:
        assert f.read().endswith(resumed_from)
    assert not any(name.endswith(".tmp") for name in os.listdir(wd))
    _train_in_process(_config(tmp_path / "second.json", wd), resume=True)
    _, log = _log_of_latest_run(wd)
    assert f"resumed from {wd / resumed_from}" in log
    _assert_identical(_final_weights(str(wd)), reference)


def test_in_process_sigterm_raises_training_interrupted(tmp_path):
    import signal
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=2)
    cfg["custom_hooks"] = [dict(type="SignalAtIter", at_iter=3, signal_name="SIGTERM")]
    runner = Runner.from_cfg(cfg)
    with pytest.raises(SystemExit) as info:
        runner.train()
    assert info.value.code == 128 + signal.SIGTERM
    meta = _load_checkpoint(str(tmp_path / "wd" / "iter_3.pth"))["meta"]
    assert (meta["epoch"], meta["iter"], meta["inner_iter"]) == (0, 3, 3)
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None) or callable(signal.getsignal(signal.SIGTERM))
