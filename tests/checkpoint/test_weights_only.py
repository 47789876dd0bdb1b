"""What the runner saves loads with torch.load(weights_only=True) and no allow-listed classes."""

import os.path as osp
import subprocess
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), "runner"))
import tiny_components as T  # noqa: E402

from loomcv.config import Config  # noqa: E402
from loomcv.runner import Runner  # noqa: E402
from loomcv.checkpoint import non_plain_values  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def _cfg(work_dir):
    cfg = T.tiny_config(work_dir, max_epochs=2, num=32)
    cfg["optim_wrapper"] = dict(type="AmpOptimWrapper", dtype="bfloat16",
                                optimizer=dict(type="AdamW", lr=0.01, weight_decay=0.05), clip_grad=dict(max_norm=1.0))
    cfg["param_scheduler"] = [dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=3),
                              dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True)]
    cfg["custom_hooks"] = [dict(type="EMAHook", momentum=0.1)]
    return Config(cfg)


def test_runner_checkpoint_loads_weights_only_and_resumes(tmp_path):
    Runner.from_cfg(_cfg(tmp_path / "wd")).train()
    path = str(tmp_path / "wd" / "epoch_1.pth")
    # a bare interpreter (only torch imported) with torch's own safe globals cleared too
    probe = ("import sys, torch; torch.serialization.clear_safe_globals(); "
             "print(sorted(torch.load(sys.argv[1], weights_only=True)))")
    done = subprocess.run([sys.executable, "-c", probe, path], capture_output=True, text=True, timeout=50)
    assert done.returncode == 0, done.stderr
    assert "'ema_state_dict'" in done.stdout and "'optimizer'" in done.stdout
    ckpt = torch.load(path, weights_only=True)
    assert {"meta", "state_dict", "optimizer", "param_schedulers", "message_hub", "ema_state_dict"} <= set(ckpt)
    assert non_plain_values(ckpt) == []
    assert isinstance(ckpt["meta"]["cfg"], str) and "AmpOptimWrapper" in ckpt["meta"]["cfg"]
    assert len(ckpt["param_schedulers"]) == 2 and ckpt["optimizer"]["state"]

    # resuming from epoch 1 ends where the uninterrupted run ended
    final = torch.load(str(tmp_path / "wd" / "epoch_2.pth"), weights_only=True)
    cfg = _cfg(tmp_path / "wd2")
    cfg.resume = path
    runner = Runner.from_cfg(cfg)
    runner.train()
    again = torch.load(str(tmp_path / "wd2" / "epoch_2.pth"), weights_only=True)
    for part in ("state_dict", "ema_state_dict"):
        for key, value in final[part].items():
            assert torch.equal(value, again[part][key]), (part, key)
    assert runner.optim_wrapper.get_lr()["lr"] == pytest.approx([0.001])
