"""``loomcv convert-checkpoint``: ours <-> safetensors <-> bare state dict, MMPretrain files, bad files."""

import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from loomcv.cli.main import main
from loomcv.checkpoint import _load_checkpoint, load_checkpoint
from loomcv.checkpoint import save_checkpoint
from loomcv.runner.randomness import get_rng_state

pytestmark = pytest.mark.timeout(60)


def classifier():
    torch.manual_seed(0)
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.head = nn.Module()
    model.head.fc = nn.Linear(4, 10)
    return model


def ours(path):
    """A checkpoint laid out like the runner's (meta with RNG state, training state)."""
    model = classifier()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.head.fc(torch.randn(2, 4)).sum().backward()
    optimizer.step()
    meta = dict(epoch=3, iter=30, seed=7, loomcv_version="0.1.0", cfg="model = dict(type='X')\n",
                dataset_meta=dict(classes=("cat", "dog")), rng=get_rng_state())
    save_checkpoint(dict(meta=meta, state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                         message_hub=dict(log_scalars={}, runtime_info=dict(epoch=3))), str(path))
    return meta, model.state_dict()


def cli(*args):
    return main(["convert-checkpoint", *map(str, args)])


def assert_same_tensors(a, b):
    assert sorted(a) == sorted(b)  # .safetensors keeps keys sorted
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_round_trip_ours_safetensors_ours(tmp_path, capsys):
    meta, weights = ours(tmp_path / "epoch_3.pth")
    assert cli(tmp_path / "epoch_3.pth", tmp_path / "model.safetensors") == 0
    out = capsys.readouterr().out
    assert "(loomcv, 9 tensors)" in out and "(safetensors)" in out
    assert "left out: optimizer, message_hub, meta['rng']" in out

    from safetensors import safe_open
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:  # plain JSON in the header
        assert json.loads(f.metadata()["loomcv.meta"])["dataset_meta"] == {"classes": ["cat", "dog"]}

    assert cli(tmp_path / "model.safetensors", tmp_path / "back.pth") == 0
    back = torch.load(str(tmp_path / "back.pth"), weights_only=True)
    assert_same_tensors(back["state_dict"], weights)
    expected = {k: v for k, v in meta.items() if k != "rng"}
    expected["dataset_meta"] = dict(classes=["cat", "dog"])  # JSON has lists, not tuples
    assert back["meta"] == expected and set(back) == {"meta", "state_dict"}

    # loading a .safetensors restores meta; the weights load with a report
    model = classifier()
    loaded = load_checkpoint(model, str(tmp_path / "model.safetensors"))
    assert loaded["meta"]["seed"] == 7 and loaded["meta"]["cfg"] == meta["cfg"]
    assert_same_tensors(model.state_dict(), weights)


def test_ours_to_ours_keeps_training_state_unless_dropped(tmp_path, capsys):
    ours(tmp_path / "a.pth")
    assert cli(tmp_path / "a.pth", tmp_path / "b.pth") == 0
    assert set(torch.load(str(tmp_path / "b.pth"), weights_only=True)) == {"meta", "state_dict", "optimizer",
                                                                           "message_hub"}
    assert cli(tmp_path / "a.pth", tmp_path / "c.pth", "--drop-optimizer") == 0
    c = torch.load(str(tmp_path / "c.pth"), weights_only=True)
    assert set(c) == {"meta", "state_dict", "message_hub"} and "rng" in c["meta"]


def test_bare_state_dict_and_prefix(tmp_path, capsys):
    _, weights = ours(tmp_path / "a.pth")
    assert cli(tmp_path / "a.pth", tmp_path / "backbone.pth", "--to", "state-dict", "--prefix", "backbone") == 0
    bare = torch.load(str(tmp_path / "backbone.pth"), weights_only=True)
    assert_same_tensors(bare, {k[len("backbone."):]: v for k, v in weights.items() if k.startswith("backbone.")})

    torch.save(weights, str(tmp_path / "bare.pth"))  # a bare state dict in: ours out, empty meta
    assert cli(tmp_path / "bare.pth", tmp_path / "wrapped.pth") == 0
    assert "(bare state dict, 9 tensors)" in capsys.readouterr().out
    wrapped = torch.load(str(tmp_path / "wrapped.pth"), weights_only=True)
    assert wrapped["meta"] == {} and list(wrapped) == ["meta", "state_dict"]
    assert_same_tensors(wrapped["state_dict"], weights)


def test_mmpretrain_file_needs_unsafe_pickle(tmp_path, capsys):
    weights = classifier().state_dict()
    path = tmp_path / "mmpretrain_resnet.pth"
    torch.save(dict(meta=dict(mmengine_version="0.10.4", epoch=100, iter=5000, seed=np.int64(1234),
                              dataset_meta=dict(classes=["a", "b"]), lr=np.float32(0.5)),
                    state_dict=weights, optimizer=dict(state={}, param_groups=[]),
                    message_hub=dict(log_scalars={"train/loss": np.array([0.5, 0.25])})), str(path))
    assert cli(path, tmp_path / "ours.pth") == 1
    err = capsys.readouterr().err
    assert "mmpretrain_resnet.pth" in err and "--unsafe-pickle" in err and "numpy" in err

    assert cli(path, tmp_path / "ours.pth", "--unsafe-pickle") == 0
    out = capsys.readouterr().out
    assert "(MMEngine/MMPretrain-style, 9 tensors)" in out and "left out: optimizer, message_hub" in out
    converted = torch.load(str(tmp_path / "ours.pth"), weights_only=True)
    assert converted["meta"]["seed"] == 1234 and type(converted["meta"]["seed"]) is int
    assert converted["meta"]["lr"] == 0.5 and converted["meta"]["dataset_meta"]["classes"] == ["a", "b"]
    assert_same_tensors(converted["state_dict"], weights)


@pytest.mark.parametrize("name, content, expected", [
    ("empty.pth", b"", "not a readable PyTorch checkpoint"),
    ("notes.pth", b"just some text\n", "not a readable PyTorch checkpoint"),
    ("truncated.pth", None, "truncated"),
    ("list.pth", "list", "holds a list, not a checkpoint dict"),
    ("broken.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{not json", "not a readable .safetensors"),
    ("missing.pth", "absent", "does not exist"),
])
def test_bad_inputs_name_the_file(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    if content is None:
        ours(path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif content == "list":
        torch.save([torch.ones(1)], str(path))
    elif content != "absent":
        path.write_bytes(content)
    assert cli(path, tmp_path / "out.pth") == 1
    err = capsys.readouterr().err
    assert name in err and expected in err
    with pytest.raises((ValueError, FileNotFoundError), match=name):
        _load_checkpoint(str(path))
    assert not (tmp_path / "out.pth").exists()


def test_bad_options(tmp_path, capsys):
    ours(tmp_path / "a.pth")
    assert cli(tmp_path / "a.pth", tmp_path / "b.pth", "--prefix", "neck") == 1
    assert "prefix 'neck.'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli(tmp_path / "a.pth", tmp_path / "b.pth", "--to", "onnx")
