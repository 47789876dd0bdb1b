"""The GPU benchmark's CPU smoke mode runs every setting through both sides and prints its table."""

import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

pytestmark = pytest.mark.timeout(120)


def test_gpu_benchmark_smoke_mode_on_cpu():
    cmd = [sys.executable, osp.join(ROOT, "benchmarks", "gpu_train.py"), "--device", "cpu", "--iters", "3", "--small"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=110, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()
            if line.split() and line.split()[0] in ("fp32", "amp_bf16", "amp_fp16", "channels_last", "compile",
                                                    "ddp", "fsdp")}
    assert list(rows) == ["fp32", "amp_bf16", "amp_fp16", "channels_last", "compile", "ddp", "fsdp"]
    assert "FAILED" not in proc.stdout, proc.stdout
    for name, line in rows.items():
        if name == "compile":
            assert "skipped on the CPU" in line
            continue
        loomcv, hand, ratio = (float(v) for v in line.split()[1:4])
        assert loomcv > 0 and hand > 0 and ratio == pytest.approx(loomcv / hand, abs=2e-3)
    assert "median ratio loomcv/hand over 6 setting(s)" in proc.stdout
