"""Seed 000's cross-library detector, end to end: the article's config over the shipped
YOLOv3-MobileNetV2, loomcls' MobileNetV3 loaded from an ``mmcls://`` checkpoint in
torch.hub's cache by ``init_weights()``, then trained a few iterations on the digits set."""

import os
import os.path as osp

import pytest
import torch

from loomcv.checkpoint.urls import cache_path, url_table
from loomcv.config import Config
from loomcv.registry import MODELS, init_default_scope
from loomcv.runner import Runner

from .test_models_configs import SEED_000_CONFIG

DIGITS_OVERRIDES = '''
_base_ = './yolov3_mobilenetv3_large.py'
model = dict(bbox_head=dict(num_classes=10))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, type='DigitsDetDataset', data_root=r'{root}', split='train',
                 num_images=4, img_size=64, pipeline={{{{_base_.train_pipeline}}}}))
val_dataloader = None
val_cfg = None
val_evaluator = None
test_dataloader = None
test_cfg = None
test_evaluator = None
train_cfg = dict(max_epochs=1, val_interval=10)
default_hooks = dict(checkpoint=dict(interval=10), logger=dict(interval=1))
'''


@pytest.fixture
def hub_dir(tmp_path, monkeypatch):
    """A private torch.hub cache (``$TORCH_HOME/hub``), restored afterwards."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    return tmp_path / "hub"


def write_mmcls_checkpoint(path):
    """An MMClassification-layout classifier checkpoint (``backbone.*`` and ``head.*`` keys)."""
    from loomcls.models.backbones import MobileNetV3

    torch.manual_seed(7)
    backbone = MobileNetV3(arch="large")
    state = {f"backbone.{k}": v + 0.5 if v.is_floating_point() else v for k, v in backbone.state_dict().items()}
    state["head.layers.1.fc.weight"] = torch.randn(1000, 1280)
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=state, meta=dict(mmcls_version="0.x")), path)
    return state


def test_seed_000_loads_mmcls_weights_from_the_hub_cache_and_trains_on_digits(hub_dir, tmp_path):
    path = cache_path(url_table("mmcls").url_of("mmcls", "mobilenet_v3_large"))
    assert path.startswith(str(hub_dir)) and path.endswith("mobilenet_v3_large-3ea3c186.pth")
    saved = write_mmcls_checkpoint(path)

    (tmp_path / "yolov3_mobilenetv3_large.py").write_text(SEED_000_CONFIG)
    cfg = Config.fromfile(str(tmp_path / "yolov3_mobilenetv3_large.py"))
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    model.init_weights()
    for key, value in model.backbone.state_dict().items():  # every backbone tensor came from the file
        assert torch.equal(value, saved[f"backbone.{key}"]), key

    override = tmp_path / "seed_000_digits.py"
    override.write_text(DIGITS_OVERRIDES.format(root=str(tmp_path / "digits")))
    cfg = Config.fromfile(str(override))
    cfg.work_dir = str(tmp_path / "work")
    torch.set_num_threads(1)  # restored by tests/conftest.py
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2  # 4 canvases, batch 2, one epoch
    assert type(runner.model.backbone).__name__ == "MobileNetV3"
    logged = runner.message_hub.get_scalar("train/loss").data[0]
    assert len(logged) == 2 and all(torch.isfinite(torch.tensor(v)) for v in logged)
