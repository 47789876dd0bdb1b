"""A full disk during a checkpoint save: the error says so, with the size needed and the checkpoint
still good to resume from. The atomic save runs for real; only the lowest write fails, as ENOSPC."""

import errno
import os
import os.path as osp
import sys

import pytest
import torch

import loomcv.checkpoint.io as ckpt_io
from loomcv.checkpoint import _load_checkpoint, save_checkpoint
from loomcv.errors import CheckpointError

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), "runner"))
import tiny_components as T  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def fill_disk_after(monkeypatch, room: int):
    """Let ``room`` more bytes reach the disk, part of a write, then fail as a full disk does."""
    real = ckpt_io._write_bytes
    left = {"bytes": room}

    def write(fd, data):
        if left["bytes"] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        part = memoryview(data)[:left["bytes"]]
        left["bytes"] -= len(part)
        return real(fd, part)

    monkeypatch.setattr(ckpt_io, "_write_bytes", write)


def test_an_overwritten_checkpoint_stays_whole_and_the_error_says_the_disk_is_full(tmp_path, monkeypatch):
    target = tmp_path / "model.pth"
    save_checkpoint(dict(state_dict=dict(w=torch.ones(1000))), str(target))
    fill_disk_after(monkeypatch, room=2000)
    with pytest.raises(CheckpointError) as info:
        save_checkpoint(dict(state_dict=dict(w=torch.zeros(256, 1024))), str(target))  # 1 MB of tensors
    message = str(info.value)
    assert "the disk is full (No space left on device)" in message
    assert "needs about 1.0 MB" in message and "free" in message
    assert f"last good checkpoint, untouched, is {target}" in message
    assert isinstance(info.value.__cause__, OSError) and info.value.__cause__.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == ["model.pth"]  # no partial temporary file
    assert torch.equal(_load_checkpoint(str(target))["state_dict"]["w"], torch.ones(1000))


def test_a_run_that_fills_the_disk_names_the_checkpoint_to_resume_from(tmp_path, monkeypatch):
    from loomcv.runner import Runner

    class FullDiskFromEpoch2(T.Hook):
        def after_train_epoch(self, runner):
            if runner.epoch + 1 == 2:
                fill_disk_after(monkeypatch, room=10_000)

    cfg = T.tiny_config(tmp_path / "wd", max_epochs=3, num=16, batch_size=8)
    runner = Runner.from_cfg(cfg)
    runner.register_hook(FullDiskFromEpoch2(), priority="HIGHEST")  # before the CheckpointHook
    with pytest.raises(CheckpointError, match=r"epoch_2.pth.*the disk is full.*needs about [\d.]+ KB.*"
                                              r"last good checkpoint, untouched, is .*epoch_1.pth"):
        runner.train()
    wd = tmp_path / "wd"
    # (the run's config is dumped into work_dir too, as MMEngine does: not a checkpoint file)
    assert sorted(f for f in os.listdir(wd) if not osp.isdir(wd / f) and not f.endswith(".py")) == \
        ["epoch_1.pth", "last_checkpoint"]
    assert _load_checkpoint(str(wd / "epoch_1.pth"))["meta"]["epoch"] == 1
    # it resumes from there once the disk has room again
    monkeypatch.setattr(ckpt_io, "_write_bytes", lambda fd, data: os.write(fd, data))
    resumed = Runner.from_cfg(dict(cfg, resume=True))
    resumed.train()
    assert (wd / "epoch_3.pth").is_file()
