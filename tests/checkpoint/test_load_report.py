"""One load report for every weight-loading path: Runner load_from, Pretrained init, init_model.

Checkpoints in MMPretrain's ``backbone.``/``head.`` layout are written here from
a built ImageClassifier; fine-tuning (another num_classes) skips the head and says so.
"""

import glob
import os.path as osp
import re

import pytest
import torch
import torch.nn as nn

from loomcv.config import Config
from loomcv.errors import CheckpointError
from loomcv.checkpoint import LoadReport, load_checkpoint, load_state_dict, summarise_keys
from loomcv.registry import init_default_scope

pytestmark = pytest.mark.timeout(60)


def classifier_cfg(num_classes=1000):
    return dict(type="ImageClassifier",
                backbone=dict(type="ResNet", depth=18, stem_channels=8, base_channels=8),
                neck=dict(type="GlobalAveragePooling"),
                head=dict(type="LinearClsHead", num_classes=num_classes, in_channels=64))


def build(cfg):
    init_default_scope("loomcls")
    import loomcls.models  # noqa: F401  (registers)
    from loomcls.registry import MODELS
    return MODELS.build(cfg)


@pytest.fixture(scope="module")
def mmpretrain_file(tmp_path_factory):
    """A {'meta', 'state_dict'} file in MMPretrain's layout, with non-default weights."""
    torch.manual_seed(0)
    model = build(classifier_cfg(1000))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_()
    path = tmp_path_factory.mktemp("ckpt") / "resnet18_8xb32_in1k.pth"
    torch.save(dict(meta=dict(dataset_meta=dict(classes=[f"c{i}" for i in range(1000)])),
                    state_dict=model.state_dict()), str(path))
    return str(path), model.state_dict()


def _runner(tmp_path, model_cfg, load_from):
    from loomcv.runner import Runner
    return Runner(model=model_cfg, work_dir=str(tmp_path / "wd"), load_from=load_from, default_scope="loomcls")


def _log_text(tmp_path):
    (log,) = glob.glob(str(tmp_path / "wd" / "*" / "*.log"))
    with open(log) as f:
        return f.read()


def test_runner_load_from_mmpretrain_layout_matches_every_key(tmp_path, mmpretrain_file):
    path, source = mmpretrain_file
    runner = _runner(tmp_path, classifier_cfg(1000), path)
    runner.load_or_resume()
    for key, value in runner.model.state_dict().items():
        assert torch.equal(value, source[key]), key
    log = _log_text(tmp_path)
    n = len(source)
    assert f"into ImageClassifier: {n} matched, 0 missing, 0 unexpected, 0 mismatched" in log
    assert re.search(rf"matched\s+{n}\s+backbone\.\S+ \(\d+ keys\)", log)  # grouped, not 120 names
    assert log.count("matched, ") == 1  # one table


def test_finetuning_head_is_reported_as_mismatched_and_skipped(tmp_path, mmpretrain_file):
    path, source = mmpretrain_file
    runner = _runner(tmp_path, classifier_cfg(10), path)
    head_before = runner.model.head.fc.weight.detach().clone()
    runner.load_or_resume()
    model = runner.model
    assert torch.equal(model.head.fc.weight, head_before)  # kept its own init
    assert torch.equal(model.backbone.conv1.weight, source["backbone.conv1.weight"])
    log = _log_text(tmp_path)
    assert f"{len(source) - 2} matched, 0 missing, 0 unexpected, 2 mismatched" in log
    assert re.search(r"mismatched\s+2\s+head\.fc\.weight\s+checkpoint \(1000, 64\) vs model \(10, 64\)", log)
    assert re.search(r"head\.fc\.bias\s+checkpoint \(1000,\) vs model \(10,\)", log)

    with pytest.raises(CheckpointError, match=r"(?s)strict loading failed.*head\.fc\.weight.*\(1000, 64\)"):
        runner.load_checkpoint(path, strict=True)


def test_backbone_pretrained_init_with_prefix(tmp_path, mmpretrain_file, capsys):
    path, source = mmpretrain_file
    backbone = build(dict(type="ResNet", depth=18, stem_channels=8, base_channels=8,
                          init_cfg=dict(type="Pretrained", checkpoint=path, prefix="backbone.")))
    backbone.init_weights()
    n = sum(k.startswith("backbone.") for k in source)
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, source["backbone." + key]), key
    out = capsys.readouterr()
    text = out.out + out.err
    assert f"(prefix 'backbone.') into ResNet: {n} matched, 0 missing, 0 unexpected, 0 mismatched" in text


def test_init_model_prints_the_report(tmp_path, mmpretrain_file, capsys):
    from loomcls.apis import init_model
    path, source = mmpretrain_file
    model = init_model(Config(dict(model=classifier_cfg(1000))), path)
    assert torch.equal(model.head.fc.bias, source["head.fc.bias"])
    assert model.dataset_meta["classes"][3] == "c3"
    text = "".join(capsys.readouterr())
    assert f"into ImageClassifier: {len(source)} matched, 0 missing" in text


def test_strict_errors_show_the_table_and_change_nothing():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 4))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    state = {"0.weight": torch.ones(3, 2), "1.weight": torch.ones(5, 3), "2.weight": torch.ones(1)}
    with pytest.raises(CheckpointError) as info:
        load_state_dict(net, state, strict=True, source="'x.pth'")
    message = str(info.value)
    for line in ("load 'x.pth' into Sequential: 1 matched, 2 missing, 1 unexpected, 1 mismatched",
                 "unexpected  1  2.weight", "1.weight  checkpoint (5, 3) vs model (4, 3)"):
        assert line in message
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())

    report = load_state_dict(net, state)  # not strict: loads what fits
    assert torch.equal(net[0].weight, torch.ones(3, 2))
    assert report.matched == ["0.weight"] and report.unexpected_keys == ["2.weight"]
    assert report.missing_keys == ["0.bias", "1.bias"] and report.mismatched == [("1.weight", (5, 3), (4, 3))]
    assert not report.ok


def test_long_key_lists_are_grouped_by_prefix():
    keys = [f"backbone.layer{i}.{j}.conv.weight" for i in range(1, 5) for j in range(3)] + \
           ["head.fc.weight", "head.fc.bias"]
    assert summarise_keys(keys[:4]) == keys[:4]  # short lists stay as they are
    assert summarise_keys(keys) == [f"backbone.layer{i}.* (3 keys)" for i in range(1, 5)] + ["head.fc.* (2 keys)"]
    assert summarise_keys(keys, limit=2) == ["backbone.* (12 keys)", "head.* (2 keys)"]
    many = [f"m{i}.w" for i in range(20)]
    assert summarise_keys(many, limit=4) == ["m0.w", "m1.w", "m2.w", "... 17 more groups (17 keys)"]
    table = LoadReport(matched=keys, mismatched=[(f"k{i}", (1,), (2,)) for i in range(9)]).table()
    assert len(table.splitlines()) <= 1 + 6 + 1 + 1 + 6
    assert "... and 4 more: k5, k6, ... 2 more groups (2 keys)" in table


def test_load_checkpoint_prefix_errors_name_the_file(tmp_path, mmpretrain_file):
    path, _ = mmpretrain_file
    with pytest.raises(CheckpointError, match=r"resnet18_8xb32_in1k.pth.*prefix 'neck\.'.*'backbone', 'head'"):
        load_checkpoint(nn.Linear(1, 1), path, prefix="neck")
    assert osp.isfile(path)
