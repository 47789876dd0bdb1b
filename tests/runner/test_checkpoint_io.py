"""Atomic checkpoint writes, the latest-checkpoint marker and clear errors on bad files."""

import os

import pytest
import torch

from loomcv.errors import CheckpointError
from loomcv.checkpoint import _load_checkpoint
from loomcv.checkpoint import find_latest_checkpoint, get_state_dict, save_checkpoint, write_latest_marker

pytestmark = pytest.mark.timeout(60)


def test_save_is_atomic_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "epoch_1.pth"
    save_checkpoint(dict(meta=dict(epoch=1), state_dict={"w": torch.ones(2)}), str(path))
    assert os.listdir(tmp_path) == ["epoch_1.pth"]
    loaded = _load_checkpoint(str(path))
    assert loaded["meta"]["epoch"] == 1 and torch.equal(loaded["state_dict"]["w"], torch.ones(2))


def test_failed_save_keeps_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "latest.pth"
    save_checkpoint(dict(state_dict={"w": torch.zeros(3)}), str(path))

    def dies_half_way(obj, f):  # the disk fills up (or the job is killed) while writing
        if isinstance(f, (str, os.PathLike)):
            with open(f, "wb") as out:
                out.write(b"PK\x03\x04 half a zip")
        else:  # save_checkpoint hands torch.save an open file
            f.write(b"PK\x03\x04 half a zip")
            f.flush()
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(dict(state_dict={"w": torch.ones(3)}), str(path))
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["latest.pth"]  # no temp file left behind
    assert torch.equal(_load_checkpoint(str(path))["state_dict"]["w"], torch.zeros(3))


def test_save_refuses_pickled_objects_by_key_path(tmp_path):
    import fractions

    import numpy as np
    path = tmp_path / "x.pth"
    bad = dict(state_dict={"w": torch.ones(1)}, meta=dict(seed=np.int64(3), cfg=dict(frac=[fractions.Fraction(1, 3)])))
    with pytest.raises(CheckpointError, match=r"(?s)x.pth.*\['meta'\]\['seed'\] is a numpy.int64"
                                              r".*\['meta'\]\['cfg'\]\['frac'\]\[0\] is a fractions.Fraction"):
        save_checkpoint(bad, str(path))
    assert os.listdir(tmp_path) == []
    from collections import OrderedDict, namedtuple
    Point = namedtuple("Point", "x y")
    with pytest.raises(CheckpointError, match=r"\['p'\] is a .*Point"):  # a tuple subclass pickles its class
        save_checkpoint(dict(p=Point(1, 2)), str(path))
    ok = dict(a=OrderedDict(w=torch.ones(1)), b=[1, 2.5, "s", None, True, (torch.Size([2]), torch.float16)])
    save_checkpoint(ok, str(path))
    assert torch.load(str(path), weights_only=True)["b"][5] == (torch.Size([2]), torch.float16)


def test_state_dict_strips_wrappers_and_moves_to_cpu():
    model = torch.nn.Linear(2, 2)
    wrapped = torch.nn.DataParallel(model)
    keys = list(get_state_dict(wrapped))
    assert keys == ["weight", "bias"]


def test_latest_marker(tmp_path):
    assert find_latest_checkpoint(str(tmp_path)) is None
    ckpt = tmp_path / "iter_5.pth"
    save_checkpoint({"state_dict": {}}, str(ckpt))
    write_latest_marker(str(tmp_path), str(ckpt))
    assert find_latest_checkpoint(str(tmp_path)) == str(ckpt)
    ckpt.unlink()
    assert find_latest_checkpoint(str(tmp_path)) is None  # a marker to a missing file is ignored


@pytest.mark.parametrize("content", [b"", b"hello, not a checkpoint", None])
def test_bad_files_give_clear_errors(tmp_path, content):
    path = tmp_path / "bad.pth"
    if content is None:  # truncated: half of a real checkpoint
        save_checkpoint(dict(state_dict={"w": torch.randn(100)}), str(path))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.pth"):
        _load_checkpoint(str(path))


def test_foreign_pickle_is_refused_by_weights_only(tmp_path):
    path = tmp_path / "foreign.pth"
    import fractions
    torch.save({"obj": fractions.Fraction(1, 3)}, str(path))  # an arbitrary class, not weights
    with pytest.raises(ValueError, match="foreign.pth"):
        _load_checkpoint(str(path))
