"""Distributed diagnostics: unused parameters are named after the first DDP step, and the watchdog
stops a stalled job with every rank's stack instead of letting it hang."""

import json
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch.nn as nn

from loomcv.dist.watchdog import EXIT_CODE, Watchdog, backend_timeout, build_watchdog, pet, to_seconds
from loomcv.errors import ConfigError
from loomcv.model.wrappers import describe_unused

pytestmark = pytest.mark.timeout(90)
HERE = osp.dirname(osp.abspath(__file__))
RUNNER_TESTS = osp.join(osp.dirname(HERE), "runner")
sys.path.insert(0, RUNNER_TESTS)
import tiny_components as T  # noqa: E402

# Generated into each test's tmp folder and loaded by the training processes through custom_imports.
COMPONENTS = '''
import time

import torch.nn as nn

from loomcv.hooks import Hook
from loomcv.registry import HOOKS, MODELS
from tiny_components import TinyNet


@MODELS.register_module(force=True)
class BranchyNet(TinyNet):
    """TinyNet plus a head the loss never uses, and a frozen layer (not unused: it wants no gradient)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.aux = nn.Sequential(nn.Linear(16, 4), nn.Linear(4, 2))
        self.frozen = nn.Linear(8, 8).requires_grad_(False)


@HOOKS.register_module(force=True)
class SleepAt(Hook):
    """Rank ``rank`` sleeps ``seconds`` after training iteration ``at_iter`` (0-based)."""

    def __init__(self, rank, at_iter, seconds):
        self.rank, self.at_iter, self.seconds = rank, at_iter, seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.rank == self.rank and runner.iter == self.at_iter:
            stall_in_user_code(self.seconds)


def stall_in_user_code(seconds):
    time.sleep(seconds)
'''


def _torchrun(tmp_path, cfg, timeout=60):
    """Train ``cfg`` with 2 gloo processes; the whole process group is killed if it outlives ``timeout``."""
    (tmp_path / "diag_components.py").write_text(COMPONENTS)
    cfg["custom_imports"] = dict(imports=["tiny_components", "diag_components"])
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps(cfg))
    env = dict(os.environ, OMP_NUM_THREADS="1", CI="1",
               PYTHONPATH=os.pathsep.join([str(tmp_path), RUNNER_TESTS, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "loomcv", "train", str(path), "--launcher", "pytorch"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"torchrun did not finish in {timeout} s:\n{out[-4000:]}")
    return proc.returncode, out


def _config(tmp_path, **overrides):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1, num=32, **overrides)
    for key in ("val_dataloader", "val_cfg", "val_evaluator", "test_dataloader", "test_cfg", "test_evaluator"):
        cfg.pop(key)
    cfg["train_cfg"] = dict(by_epoch=True, max_epochs=1)
    cfg["default_hooks"] = dict(checkpoint=None, logger=dict(type="LoggerHook", interval=1))
    cfg.setdefault("env_cfg", dict(dist_cfg=dict(backend="gloo")))
    return cfg


# ---------------------------------------------------------------------- unused parameters
def test_unused_parameters_stop_every_rank_with_their_names(tmp_path):
    rc, out = _torchrun(tmp_path, _config(tmp_path, model=dict(type="BranchyNet")))
    assert rc != 0, out[-4000:]
    errors = [line for line in out.splitlines() if "UnusedParametersError:" in line]
    assert len(errors) >= 2, out[-4000:]  # one traceback per rank
    assert "4 trainable parameter(s) of BranchyNet" in errors[0] and "(rank 0, 1)" in errors[0]
    assert "  aux: aux.0.weight, aux.0.bias, aux.1.weight, aux.1.bias" in out
    assert "frozen." not in out
    assert "RuntimeError: Expected to have finished" not in out  # we stopped before DDP's own error


def test_describe_unused_groups_by_largest_unused_module():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2)))
    text = describe_unused(model, {"1.0.weight": [1], "1.0.bias": [1], "1.1.weight": [1], "1.1.bias": [1],
                                   "0.bias": [0, 1]})
    assert text.splitlines()[1:] == ["  1: 1.0.weight, 1.0.bias, 1.1.weight, 1.1.bias", "  0: 0.bias"]
    assert "5 trainable parameter(s) of Sequential" in text and "(rank 0, 1)" in text


# ---------------------------------------------------------------------- watchdog
def test_find_unused_warns_then_a_stalled_rank_stops_the_job_with_every_stack(tmp_path):
    # one job for both (each torchrun costs ~10-20 s here): with find_unused_parameters=True the unused
    # head is only a warning and training goes on; then rank 1 sleeps and the watchdog ends the job
    cfg = _config(tmp_path, model=dict(type="BranchyNet"),
                  model_wrapper_cfg=dict(type="MMDistributedDataParallel", find_unused_parameters=True),
                  env_cfg=dict(dist_cfg=dict(backend="gloo", timeout=3)),
                  custom_hooks=[dict(type="SleepAt", rank=1, at_iter=2, seconds=40)])
    cfg["train_dataloader"]["dataset"]["num"] = 64
    rc, out = _torchrun(tmp_path, cfg)
    assert "aux: aux.0.weight, aux.0.bias, aux.1.weight, aux.1.bias" in out
    assert "find_unused_parameters=True copes with them" in out
    assert "UnusedParametersError" not in out

    assert rc != 0, out[-4000:]
    by_rank = {}
    for line in out.splitlines():
        if line.startswith("loomcv watchdog: rank "):
            by_rank.setdefault(line.split()[3], line)
    # rank 1 is asleep in user code after its iteration 2 ...
    assert "1" in by_rank, out[-4000:]
    assert "made no progress" in by_rank["1"] and "during train iteration 2" in by_rank["1"]
    assert "in stall_in_user_code, called from" in by_rank["1"] and "timeout 3 s" in by_rank["1"]
    assert "in stall_in_user_code" in out.split(by_rank["1"])[1]  # its stack follows the message
    # ... while rank 0 went on (past DDP's second-iteration check: the unused head did not break it) and
    # waits for rank 1 inside DDP in iteration 3. Its own watchdog names that, unless torchrun's SIGTERM
    # (sent when rank 1 exits) came first; either way it prints its stack.
    if "0" in by_rank:
        assert "during train iteration 3" in by_rank["0"], by_rank["0"]
    assert "in train_step" in out
    assert out.count("most recent call first") >= 4  # both threads (main, watchdog) of both ranks


WATCHDOG_SCRIPT = textwrap.dedent('''
    import time
    from loomcv.dist.watchdog import Watchdog, pet, watched

    @watched
    def slow_collective():
        time.sleep(30)

    with Watchdog(timeout=0.5, rank=3):
        for i in range(8):          # petting more often than the timeout keeps it quiet
            pet("train", i)
            time.sleep(0.15)
        print("still alive", flush=True)
        pet("val", 5)
        slow_collective()
    print("not reached")
''')


def test_watchdog_fires_names_the_operation_and_dumps_stacks(tmp_path):
    script = tmp_path / "stall.py"
    script.write_text(WATCHDOG_SCRIPT)
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_CODE, result.stderr
    assert result.stdout == "still alive\n"
    message = result.stderr.splitlines()[0]
    assert message.startswith("loomcv watchdog: rank 3 waited ")
    assert "in slow_collective (__main__.py) during val iteration 5" in message
    assert f"main thread at {script}:7 in slow_collective" in message
    assert "Thread 0x" in result.stderr and f'File "{script}", line 7 in slow_collective' in result.stderr


def test_watchdog_quiet_when_petted_disabled_or_not_distributed():
    with Watchdog(timeout=0.3) as dog:
        assert dog.running
        for i in range(6):
            pet("train", i)
            __import__("time").sleep(0.1)
    assert not dog.running
    with Watchdog(timeout=0.01, enabled=False) as off:
        __import__("time").sleep(0.1)
        assert not off.running
    assert not build_watchdog(dict(timeout=5), distributed=False).enabled
    assert build_watchdog(dict(timeout=5, watchdog=True), distributed=False).enabled
    assert build_watchdog(None, distributed=True).timeout == 600
    assert not build_watchdog(dict(watchdog=False), distributed=True).enabled


def test_timeout_values():
    import datetime
    assert to_seconds(dict(minutes=2)) == 120 and to_seconds(datetime.timedelta(seconds=7)) == 7
    assert backend_timeout(dict(timeout=3)).total_seconds() == 8  # the watchdog speaks first
    assert backend_timeout(dict(timeout=3, watchdog=False)).total_seconds() == 3
    with pytest.raises(ConfigError, match="dict\\(minutes=10\\)"):
        to_seconds(dict(minute=10), "env_cfg.dist_cfg.timeout")
    with pytest.raises(ConfigError, match="must be positive"):
        to_seconds(0)
    with pytest.raises(ConfigError, match="env_cfg.dist_cfg.watchdog"):
        build_watchdog(dict(watchdog="yes"), distributed=True)
