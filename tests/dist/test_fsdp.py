"""FSDPStrategy with 2 processes (gloo, CPU): training, full and sharded checkpoints, exact resume
from either, clipping across shards, activation checkpointing, mixed precision and CPU offload;
then a single process reads what the 2-process runs wrote."""

import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(150)
HERE = osp.dirname(osp.abspath(__file__))
RUNNER_TESTS = osp.join(osp.dirname(HERE), "runner")
WORKER = osp.join(HERE, "fsdp_worker.py")


def _env():
    path = os.pathsep.join([HERE, RUNNER_TESTS, os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1", CI="1")


@pytest.fixture(scope="module")
def fsdp_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("fsdp")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", WORKER, str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, env=_env())
    try:
        log, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        log, _ = proc.communicate()
        pytest.fail(f"the FSDP worker did not finish in 120 s:\n{log[-3000:]}")
    assert proc.returncode == 0, log[-4000:]
    return out, json.loads((out / "result.json").read_text())


def test_trains_sharded_and_logs_the_layout(fsdp_runs):
    _, result = fsdp_runs
    (line,) = result["log_lines"]
    assert "FSDPStrategy: fully_shard over 2 rank(s) on cpu: 2 unit(s) (2 Block) + root ShardNet" in line
    assert "checkpoints: one full file (rank 0)" in line
    assert 0 < result["accuracy"] < 100


def test_full_and_sharded_checkpoints_resume_exactly(fsdp_runs):
    _, result = fsdp_runs
    assert result["full_file"] and result["saved_equal"]
    assert result["sharded_folder"] == [".metadata", "__0_0.distcp", "__1_0.distcp", "runner_state.pth"]
    assert result["sharded_equal"]   # the same training, whichever way it checkpoints
    assert result["resumed_full_equal"] and result["resumed_sharded_equal"] and result["cross_equal"]
    assert result["resumed_saved"] == [["iter_6.pth"]] * 5   # they did start at iteration 3
    assert result["ddp_resumes_fsdp_close"]   # a full FSDP checkpoint is an ordinary one
    assert len(set(result["losses"])) == 1


def test_gradient_clipping_uses_the_norm_over_all_shards(fsdp_runs):
    _, result = fsdp_runs
    fsdp_norm, ddp_norm = result["grad_norms"]
    assert fsdp_norm == pytest.approx(ddp_norm, rel=1e-5) and fsdp_norm > 0.05   # clipping acted
    assert result["ddp_close"]


def test_gradient_accumulation_matches_ddp(fsdp_runs):
    _, result = fsdp_runs
    assert result["accumulate_close"] and result["accumulate_differs"]


def test_activation_checkpointing_recomputes_and_keeps_gradients(fsdp_runs):
    _, result = fsdp_runs
    for name in ("fsdp", "ddp"):
        assert result[f"ac_{name}_forward_runs"] == [1, 2]
        assert result[f"ac_{name}_equal"]


def test_channels_last_converts_the_inputs_under_fsdp(fsdp_runs):
    _, result = fsdp_runs
    assert result["channels_last_inputs"] == [True] and result["channels_last_loss_finite"]


def test_ema_is_refused_with_a_reason(fsdp_runs):
    _, result = fsdp_runs
    assert result["ema_error"].startswith("ConfigError: FSDPStrategy: EMAHook keeps a deep copy of the model")


def test_mixed_precision_and_cpu_offload(fsdp_runs):
    _, result = fsdp_runs
    assert result["mp_loss_finite"]
    assert result["mp_dtypes"] == ["torch.float32"]
    assert result["mp_compute_dtype"] == ["torch.bfloat16"]


def test_single_process_reads_the_full_and_the_sharded_checkpoint(fsdp_runs, tmp_path):
    out, result = fsdp_runs
    cfg = out / "cfg.json"
    proc = subprocess.run([sys.executable, "-m", "loomcv", "test", str(cfg), str(out / "full" / "iter_6.pth"),
                           "--work-dir", str(tmp_path / "test"), "--out", str(tmp_path / "metrics.json")],
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert metrics["tiny/accuracy"] == pytest.approx(result["accuracy"])
    assert "FSDPStrategy: no process group" in proc.stdout + proc.stderr
    # `loomcv test` takes the sharded folder as well
    proc = subprocess.run([sys.executable, "-m", "loomcv", "test", str(cfg), str(out / "sharded" / "iter_6.pth"),
                           "--work-dir", str(tmp_path / "test_sharded"), "--out", str(tmp_path / "sharded.json")],
                          env=_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    metrics = json.loads((tmp_path / "sharded.json").read_text())["metrics"]
    assert metrics["tiny/accuracy"] == pytest.approx(result["accuracy"])

    sys.path[:0] = [HERE, RUNNER_TESTS]
    try:
        import fsdp_worker  # noqa: F401  (registers ShardNet)
        from loomcv.config import Config
        from loomcv.runner import Runner
        single = json.loads(cfg.read_text())
        single.update(work_dir=str(tmp_path / "sharded"), load_from=str(out / "sharded" / "iter_6.pth"))
        metrics = Runner.from_cfg(Config(single)).test()
    finally:
        del sys.path[:2]
    assert metrics["tiny/accuracy"] == pytest.approx(result["accuracy"])
