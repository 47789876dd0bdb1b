"""Nothing on the per-iteration training path reads a tensor back to the host, except where a log
line is written: every ``Tensor.item/tolist/numpy/__bool__/__float__/__int__`` call made from
loomcv code during a short run is recorded with the iteration it happened in."""

import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.runner import Runner  # noqa: E402

READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__")


@pytest.fixture
def host_reads(monkeypatch):
    """Patches the reading methods of torch.Tensor; yields the list of (state, caller) reads."""
    seen, state = [], {"where": None}
    for name in READS:
        original = getattr(torch.Tensor, name)

        def spy(self, *args, _original=original, _name=name, **kwargs):
            caller = sys._getframe(1).f_code
            if "/loomcv/" in caller.co_filename.replace("\\", "/") and state["where"] is not None:
                seen.append((state["where"], f"{_name} in {osp.basename(caller.co_filename)}:{caller.co_name}"))
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    yield seen, state


@pytest.mark.parametrize("wrapper", [dict(), dict(type="AmpOptimWrapper", dtype="bfloat16")])
def test_no_host_read_between_log_intervals(tmp_path, host_reads, wrapper):
    seen, state = host_reads
    cfg = T.tiny_config(tmp_path, by_epoch=False, max_iters=12, val_dataloader=None, val_cfg=None,
                        val_evaluator=None)
    cfg["optim_wrapper"].update(wrapper, clip_grad=dict(max_norm=1.0))
    cfg["default_hooks"] = dict(logger=dict(type="LoggerHook", interval=4),
                                checkpoint=dict(type="CheckpointHook", interval=-1, save_last=False))
    runner = Runner.from_cfg(cfg)
    loop = runner.train_loop
    run_iter = loop.run_iter

    def watched(*args):  # (data_batch) as MMEngine's iteration-based loop calls it
        state["where"] = loop.iter
        try:
            run_iter(*args)
        finally:
            state["where"] = None

    loop.run_iter = watched
    runner.train()
    logged = {3, 7, 11}  # iterations (0-based) that end with a log line
    stray = [(it, what) for it, what in seen if it not in logged]
    assert not stray, f"host reads outside log intervals: {stray}"
    assert {it for it, _ in seen} == logged  # the spy does see the reads a log line needs
