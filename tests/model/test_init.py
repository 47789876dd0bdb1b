import re

import pytest
import torch
import torch.nn as nn

from loomcv.errors import CheckpointError
from loomcv.model import BaseModule, ModuleList, Sequential, initialize


class Net(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.conv1 = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 2)


def test_layer_selection_and_override():
    net = Net(init_cfg=[dict(type="Constant", val=2.0, bias=0.5, layer="Conv2d"),
                        dict(type="Constant", val=3.0, layer=["_BatchNorm"]),
                        dict(type="Constant", val=0.0, override=dict(name="fc", type="Constant", val=7.0))])
    net.init_weights()
    assert torch.all(net.conv1.weight == 2.0) and torch.all(net.conv1.bias == 0.5)
    assert torch.all(net.bn.weight == 3.0)  # matched through a base class name
    assert torch.all(net.fc.weight == 7.0)
    record = dict(net.init_record)
    assert record["fc.weight"].startswith("ConstantInit") and "val=7.0" in record["fc.weight"]


def test_override_inherits_type_and_bad_name():
    net = Net(init_cfg=dict(type="Normal", std=0.0, mean=1.5, override=dict(name="fc")))
    net.init_weights()
    assert torch.all(net.fc.weight == 1.5)
    with pytest.raises(ValueError, match="'fcc'.*Did you mean: 'fc'"):
        Net(init_cfg=dict(type="Normal", override=dict(name="fcc"))).init_weights()


@pytest.mark.parametrize("cfg", [dict(type="Kaiming", layer="Conv2d"),
                                 dict(type="Xavier", layer="Conv2d", distribution="uniform"),
                                 dict(type="TruncNormal", layer="Conv2d", std=0.02),
                                 dict(type="Uniform", layer="Conv2d", a=-1, b=1)])
def test_random_initializers_change_weights(cfg):
    torch.manual_seed(0)
    net = Net()
    before = net.conv1.weight.clone()
    initialize(net, cfg)
    assert not torch.equal(before, net.conv1.weight)
    if cfg["type"] == "TruncNormal":
        assert net.conv1.weight.abs().max() <= 2.0


def test_containers_carry_init_cfg_and_children_init():
    seq = Sequential(nn.Linear(2, 2), nn.Linear(2, 2), init_cfg=dict(type="Constant", val=1.0, layer="Linear"))
    inner = Net(init_cfg=dict(type="Constant", val=4.0, layer="Linear"))
    outer = ModuleList([seq, inner])
    outer.init_weights()
    assert all(torch.all(m.weight == 1.0) for m in seq)
    assert torch.all(inner.fc.weight == 4.0) and inner.is_init


def _save_backbone_checkpoint(path):
    src = nn.Module()
    src.backbone = Net()
    src.head = nn.Linear(2, 2)
    with torch.no_grad():
        for p in src.parameters():
            p.fill_(0.25)
    state = {k: v for k, v in src.state_dict().items() if not k.startswith("backbone.fc")}
    state["backbone.extra.weight"] = torch.zeros(1)
    torch.save({"meta": {}, "state_dict": state}, path)


def test_pretrained_with_prefix_reports_keys(tmp_path, capsys):
    ckpt = tmp_path / "model.pth"
    _save_backbone_checkpoint(ckpt)
    net = Net(init_cfg=dict(type="Pretrained", checkpoint=str(ckpt), prefix="backbone"))
    net.init_weights()
    assert torch.all(net.conv1.weight == 0.25) and torch.all(net.bn.weight == 0.25)
    text = capsys.readouterr().out
    assert re.search(r"missing\s+2\s+fc.weight", text) and re.search(r"unexpected\s+1\s+extra.weight", text)
    with pytest.raises(CheckpointError, match="prefix 'neck.'.*backbone"):
        Net(init_cfg=dict(type="Pretrained", checkpoint=str(ckpt), prefix="neck")).init_weights()


def test_pretrained_bad_files(tmp_path):
    bad = tmp_path / "notes.pth"
    bad.write_text("this is not a checkpoint")
    with pytest.raises(ValueError, match="notes.pth.*not a readable PyTorch checkpoint"):
        Net(init_cfg=dict(type="Pretrained", checkpoint=str(bad))).init_weights()
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        Net(init_cfg=dict(type="Pretrained", checkpoint=str(tmp_path / "missing.pth"))).init_weights()


def test_pretrained_runs_after_other_inits(tmp_path):
    ckpt = tmp_path / "m.pth"
    _save_backbone_checkpoint(ckpt)
    net = Net(init_cfg=[dict(type="Pretrained", checkpoint=str(ckpt), prefix="backbone"),
                        dict(type="Constant", val=9.0, layer="Conv2d")])
    net.init_weights()
    assert torch.all(net.conv1.weight == 0.25)
    assert "Pretrained" in dict(net.init_record)["conv1.weight"]
