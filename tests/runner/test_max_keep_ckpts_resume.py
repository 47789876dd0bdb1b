"""max_keep_ckpts holds across resumes: the kept list is in each checkpoint (MMEngine's keep_ckpt_ids)
and files from the runs before a resume, including a stop signal's checkpoint, are removed."""

import os
import os.path as osp
import signal
import sys

import pytest

sys.path.insert(0, osp.dirname(__file__))
import tiny_components as T  # noqa: E402

from loomcv.checkpoint import _load_checkpoint  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def _config(work_dir, max_epochs, stop_at=None, max_keep=2):
    cfg = T.tiny_config(work_dir, max_epochs=max_epochs, num=16, batch_size=8)  # 2 iterations per epoch
    cfg["default_hooks"]["checkpoint"] = dict(type="CheckpointHook", interval=1, max_keep_ckpts=max_keep)
    cfg["custom_hooks"] = [dict(type="SignalAtIter", at_iter=stop_at)] if stop_at else []
    cfg["train_cfg"]["val_interval"] = 100
    return cfg


def _checkpoints(work_dir):
    return sorted(f for f in os.listdir(work_dir) if f.endswith(".pth"))


def _run(cfg, resume):
    runner = Runner.from_cfg(dict(cfg, resume=resume))
    try:
        runner.train()
    except SystemExit as stop:
        assert stop.code == 128 + signal.SIGTERM


def test_a_resumed_run_removes_the_checkpoints_of_the_run_before(tmp_path):
    wd = tmp_path / "wd"
    _run(_config(wd, max_epochs=3), resume=False)
    assert _checkpoints(wd) == ["epoch_2.pth", "epoch_3.pth"]
    saved = _load_checkpoint(str(wd / "epoch_3.pth"))["message_hub"]["runtime_info"]["keep_ckpt_ids"]
    assert saved == [2, 3]  # MMEngine's format: the steps, the file itself included
    _run(_config(wd, max_epochs=5), resume=True)
    assert _checkpoints(wd) == ["epoch_4.pth", "epoch_5.pth"]


def test_preempted_and_resumed_runs_keep_max_keep_ckpts_files(tmp_path):
    wd = tmp_path / "wd"
    _run(_config(wd, max_epochs=6, stop_at=3), resume=False)  # epoch_1 and the stop's iter_3
    assert _checkpoints(wd) == ["epoch_1.pth", "iter_3.pth"]
    for stop_at in (6, 9):
        _run(_config(wd, max_epochs=6, stop_at=stop_at), resume=True)
        assert f"iter_{stop_at}.pth" in _checkpoints(wd) and len(_checkpoints(wd)) <= 3
    _run(_config(wd, max_epochs=6), resume=True)
    assert _checkpoints(wd) == ["epoch_5.pth", "epoch_6.pth"]


def test_lowering_max_keep_ckpts_on_resume_trims_the_old_files(tmp_path):
    wd = tmp_path / "wd"
    _run(_config(wd, max_epochs=3, max_keep=3), resume=False)
    assert _checkpoints(wd) == ["epoch_1.pth", "epoch_2.pth", "epoch_3.pth"]
    _run(_config(wd, max_epochs=4, max_keep=1), resume=True)
    assert _checkpoints(wd) == ["epoch_4.pth"]


def test_a_sharded_checkpoint_folder_is_removed_like_a_file(tmp_path):
    """max_keep_ckpts and best-checkpoint replacement remove a sharded strategy's checkpoint folder
    (torch.distributed.checkpoint's layout), and never a folder that is not one."""
    from types import SimpleNamespace

    import torch
    import torch.distributed.checkpoint as dcp

    from loomcv.hooks import CheckpointHook

    folder = tmp_path / "iter_3.pth"
    dcp.save({"w": torch.ones(2)}, checkpoint_id=str(folder), no_dist=True)
    other = tmp_path / "iter_4.pth"
    other.mkdir()
    (other / "notes.txt").write_text("not a checkpoint")
    CheckpointHook._remove(SimpleNamespace(rank=1), str(folder))
    assert folder.is_dir()  # only rank 0 deletes
    CheckpointHook._remove(SimpleNamespace(rank=0), str(folder))
    CheckpointHook._remove(SimpleNamespace(rank=0), str(other))
    assert not folder.exists() and (other / "notes.txt").is_file()
