"""loomcv.checkpoint is the one home of checkpoint code; the older paths lead to it."""

import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from torch.nn.parallel import DataParallel

import loomcv.checkpoint as ckpt
from loomcv.errors import CheckpointError
from loomcv.model import ExponentialMovingAverage, unwrap_model
from loomcv.optim import OptimWrapper
from loomcv.optim.scheduler import LinearLR


def test_mmengine_path_serves_the_same_functions():
    from loomcv.runner import checkpoint as public
    for name in ("load_checkpoint", "save_checkpoint", "_load_checkpoint", "get_state_dict", "weights_to_cpu",
                 "find_latest_checkpoint", "load_state_dict"):
        assert getattr(public, name) is getattr(ckpt, name), name


def _run(code):
    return subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                          capture_output=True, text=True, timeout=120)


def test_old_model_path_still_imports_but_warns():
    out = _run("import loomcv.model.checkpoint")
    assert out.returncode != 0 and "DeprecationWarning" in out.stderr and "loomcv.checkpoint" in out.stderr
    # the package itself no longer goes through the old path
    out = _run("import loomcv.model, loomcv.runner, loomcv.hooks; from loomcv.runner.checkpoint import load_checkpoint")
    assert out.returncode == 0, out.stderr
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from loomcv.model import checkpoint as old
    assert old.load_checkpoint is ckpt.load_checkpoint and old.LoadReport is ckpt.LoadReport


def test_unwrap_model_strips_registered_wrappers_only():
    net = nn.Linear(2, 2)
    assert unwrap_model(net) is net
    assert unwrap_model(DataParallel(DataParallel(net))) is net
    ema = ExponentialMovingAverage(net)
    assert unwrap_model(ema) is ema  # an averaged model has .module but is a model in its own right
    assert list(ckpt.get_state_dict(DataParallel(net))) == ["weight", "bias"]


def test_load_state_dict_reports_against_the_unwrapped_model():
    net = nn.Linear(2, 2)
    report = ckpt.load_state_dict(DataParallel(net), {"weight": torch.ones(2, 2), "bias": torch.zeros(2)})
    assert report.ok and report.target == "Linear"
    assert torch.equal(net.weight, torch.ones(2, 2))


def test_scheduler_states_round_trip_and_shape_mismatch_is_named():
    def schedulers():
        wrapper = OptimWrapper(torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1))
        return [LinearLR(wrapper, start_factor=0.5, by_epoch=False, end=4)]
    trained = schedulers()
    for _ in range(3):
        trained[0].step()
    states = ckpt.scheduler_states(trained)
    fresh = schedulers()
    ckpt.load_scheduler_states(fresh, states)
    assert fresh[0].last_step == trained[0].last_step == 3
    with pytest.raises(CheckpointError, match="per optimizer"):
        ckpt.load_scheduler_states(fresh, {"generator": states}, "gan.pth")
    with pytest.raises(CheckpointError, match=r"no param_schedulers for optimizer\(s\) \['disc'\]"):
        ckpt.load_scheduler_states({"gen": fresh, "disc": []}, {"gen": states}, "gan.pth")
