"""Distributed helpers: identity when single-process, and a real 2-process gloo run under torchrun."""

import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch

from loomcv import dist
from loomcv.dist.launch import first_slurm_host

WORKER = osp.join(osp.dirname(__file__), "dist_worker.py")


def test_single_process_identity():
    assert dist.get_dist_info() == (0, 1)
    assert not dist.is_distributed() and dist.is_main_process() and dist.get_local_rank() == 0
    t = torch.tensor([3.0])
    dist.all_reduce(t, "mean")
    dist.broadcast(t)
    dist.barrier()
    assert t.item() == 3.0
    assert dist.all_gather(t)[0] is t
    assert dist.all_gather_object("x") == ["x"]
    assert dist.collect_results([1, 2, 3, 4], 3) == [1, 2, 3]
    assert dist.master_only(lambda: 5)() == 5
    assert isinstance(dist.sync_random_seed(), int)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="valid ops: sum, mean"):
        dist.all_reduce(torch.zeros(1), "average")
    with pytest.raises(ValueError, match="device must be 'cpu' or 'gpu'"):
        dist.collect_results([], 0, device="cuda")
    with pytest.raises(ValueError, match="valid launchers: pytorch, slurm"):
        dist.init_dist("mpirun")


def test_init_dist_without_torchrun_env(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RuntimeError, match="torchrun"):
        dist.init_dist("pytorch", backend="gloo")
    with pytest.raises(RuntimeError, match="SLURM_PROCID"):
        dist.init_dist("slurm", backend="gloo")


@pytest.mark.parametrize("nodelist, host", [("gpu[03-05,09],cpu1", "gpu03"), ("node7", "node7"),
                                            ("a[1,4]", "a1")])
def test_first_slurm_host(nodelist, host, monkeypatch):
    monkeypatch.setenv("PATH", "")   # no scontrol: our own parser
    assert first_slurm_host(nodelist) == host


def run_torchrun(script, args, nproc=2, timeout=120):
    """Run ``script`` under torchrun in its own process group; kill the whole group on timeout."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           script, *args]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=env)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{out[-3000:]}")
    assert proc.returncode == 0, out[-3000:]
    return out


def test_two_process_gloo(tmp_path):
    run_torchrun(WORKER, [str(tmp_path)])
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    for r, seen in enumerate(ranks):
        assert (seen["rank"], seen["world"], seen["local_rank"]) == (r, 2, r)
        assert seen["distributed"] and seen["main"] == (r == 0)
        assert seen["sum"] == 3.0 and seen["mean"] == 1.5
        assert seen["gather"] == [[0, 0], [1, 10]]
        assert seen["gather_object"] == [{"r": 0}, {"r": 1}]
        assert seen["broadcast"] == 101 and seen["broadcast_object"] == "from0"
        assert seen["master_only"] == ("ran" if r == 0 else None)
        # every rank gets rank 0's metrics; dataset order restored, the padded 8th item dropped
        assert seen["metrics"] == {"toy/order": list(range(7)), "toy/n": 7}
    assert ranks[0]["seed"] == ranks[1]["seed"]
    assert ranks[0]["collected"] == [f"item{i}" for i in range(7)]
    assert ranks[1]["collected"] is None
    assert ranks[0]["collected_unpadded"] == list(range(7))


def test_init_dist_slurm_single_task():
    """SLURM's variables become RANK/WORLD_SIZE/LOCAL_RANK/MASTER_* and a real group starts."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import os; from loomcv import dist; "
            f"dist.init_dist('slurm', backend='gloo', port={port}, timeout=30); "
            "print(dist.get_dist_info(), dist.get_local_rank(), os.environ['MASTER_ADDR'], "
            "os.environ['MASTER_PORT'])")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    env.update(SLURM_PROCID="0", SLURM_NTASKS="1", SLURM_NODELIST="localhost", SLURM_LOCALID="0",
               PATH="/usr/bin:/bin")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["(0,", "1)", "0", "localhost", str(port)]
