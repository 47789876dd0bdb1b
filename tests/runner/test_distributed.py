"""A 2-process torchrun (gloo, CPU) run: trains, validates, only rank 0 writes checkpoints, and its
validation accuracy equals a single-process evaluation of the same checkpoint."""

import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(120)
HERE = osp.dirname(osp.abspath(__file__))


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_processes(tmp_path):
    wd = tmp_path / "wd"
    cfg = T.tiny_config(wd, max_epochs=2, env_cfg=dict(dist_cfg=dict(backend="gloo")))
    # 30 samples: 2 ranks x 16 with round_up, so the padding must be dropped; overlapping classes so the
    # accuracy is not a trivial 100
    hard = dict(type="TinyPoints", num=30, seed=1, separation=0.15)
    cfg["val_dataloader"]["dataset"] = hard
    cfg["custom_hooks"] = [dict(type="SyncBuffersHook"), dict(type="RecordCheckpointWrites")]
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    env = dict(os.environ, PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""), CI="1",
               OMP_NUM_THREADS="1")
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
         str(_free_port()), "-m", "loomcv", "train", str(path), "--launcher", "pytorch"],
        env=env, capture_output=True, text=True, timeout=110)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]

    assert (wd / "writes_rank0.txt").read_text().split() == [str(wd / "epoch_1.pth"), str(wd / "epoch_2.pth")]
    assert not (wd / "writes_rank1.txt").exists()
    (stamp,) = [d for d in os.listdir(wd) if osp.isdir(wd / d)]
    log = (wd / stamp / f"{stamp}.log").read_text()
    assert "distributed: True (world size 2)" in log
    rows = [json.loads(line) for line in (wd / stamp / "vis_data" / "scalars.json").read_text().splitlines()]
    dist_acc = [r["tiny/accuracy"] for r in rows if "tiny/accuracy" in r][-1]
    assert 0 < dist_acc < 100

    single = T.tiny_config(tmp_path / "single", load_from=str(wd / "epoch_2.pth"))
    single["val_dataloader"]["dataset"] = hard
    for key in ("train_dataloader", "train_cfg", "optim_wrapper", "param_scheduler"):
        single.pop(key)
    assert Runner.from_cfg(single).val()["tiny/accuracy"] == dist_acc
