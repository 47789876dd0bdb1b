"""The MMClassification 0.x tutorial's complete MMCV 1.x configs train for one epoch, unchanged but for --cfg-options.

The options are the ones a user passes on the command line, written in the
legacy dialect the config uses (``data.samples_per_gpu``, ``runner.max_epochs``):
they point the data at generated fixtures in the real on-disk layouts and shrink
the 224-pixel crops so ResNet-50 runs in seconds on a CPU.
"""

import json
from pathlib import Path

import pytest
import torch

from loomcv.config import Config

TUTORIAL = Path(__file__).parents[1] / "fixtures" / "configs" / "mmcls_0x_tutorial"


def imagenet_options(root: Path) -> dict:
    return {
        "data.samples_per_gpu": 4, "data.workers_per_gpu": 0, "runner.max_epochs": 1,
        "data.train.data_prefix": str(root / "train"),
        "data.train.pipeline.1.size": 64,  # RandomResizedCrop
        **{f"data.{split}.{key}": value for split in ("val", "test") for key, value in (
            ("data_prefix", str(root / "val")), ("ann_file", str(root / "meta" / "val.txt")),
            ("pipeline.1.size", (72, -1)), ("pipeline.2.crop_size", 64))},
    }


def train_one_epoch(cfg: Config, work_dir: Path):
    from loomcv.runner import Runner
    cfg.work_dir = str(work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    log = next(work_dir.glob("*/*.log")).read_text()
    scalars = [json.loads(line) for line in next(work_dir.glob("*/vis_data/scalars.json")).open()]
    return runner, log, scalars


@pytest.mark.parametrize("name", ["ch1_inherit_four_bases.py", "ch1_lr_cosine_delete.py",
                                  "ch1_resnet50_300e_inherit.py"])
def test_imagenet_configs_train_one_epoch(tmp_path, layouts, name):
    root = layouts.imagenet(tmp_path / "imagenet", per_class=3, n_val=4)
    cfg = Config.fromfile(TUTORIAL / name, cfg_options=imagenet_options(root))
    assert "lr_config" in cfg.legacy_keys and cfg.train_cfg.max_epochs == 1
    runner, log, scalars = train_one_epoch(cfg, tmp_path / "work")
    assert "is an MMCV 1.x config" in log and "lr_config" in log
    assert (tmp_path / "work" / "epoch_1.pth").is_file()  # checkpoint_config interval=1
    assert runner.train_dataloader.batch_size == 4 and len(runner.train_dataloader.dataset) == 9
    val = [s for s in scalars if "accuracy/top1" in s]
    assert len(val) == 1 and 0.0 <= val[0]["accuracy/top1"] <= 100.0  # evaluation interval=1
    assert all(torch.isfinite(torch.tensor(s["loss"])) for s in scalars if "loss" in s)


def test_cifar_finetune_config_loads_pretrained_backbone_and_freezes_two_stages(tmp_path, layouts):
    from loomcls.registry import MODELS
    from loomcv.registry import init_default_scope
    init_default_scope("loomcls")
    # An ImageNet ResNet-50 checkpoint in MMPretrain's layout stands in for the article's download URL.
    imagenet_model = MODELS.build(Config.fromfile(TUTORIAL / "_base_/models/resnet50.py").model)
    pretrained = tmp_path / "resnet50_in1k.pth"
    torch.save({"meta": {}, "state_dict": imagenet_model.state_dict()}, pretrained)
    root = layouts.cifar10(tmp_path / "cifar10", n_train=20, n_test=10)
    options = {
        "model.backbone.init_cfg.checkpoint": str(pretrained), "runner.max_epochs": 1,
        "workflow": [("train", 1), ("val", 1)],  # the tutorial's --cfg-options example: validation-loss epochs
        "data.samples_per_gpu": 5, "data.workers_per_gpu": 0, "log_config.interval": 1,
        "data.train.pipeline.2.size": 64, "data.val.pipeline.0.size": 64, "data.test.pipeline.0.size": 64,
        **{f"data.{split}.data_prefix": str(root) for split in ("train", "val", "test")},
    }
    cfg = Config.fromfile(TUTORIAL / "ch7_finetune_cifar.py", cfg_options=options)
    assert cfg.model.backbone.init_cfg == dict(type="Pretrained", checkpoint=str(pretrained), prefix="backbone")
    runner, log, scalars = train_one_epoch(cfg, tmp_path / "work")
    model = runner.model
    before = imagenet_model.state_dict()
    after = model.state_dict()
    # frozen_stages=2: the stem and layer1 keep the pretrained weights; later stages and the new head train.
    for key in ("backbone.conv1.weight", "backbone.layer1.0.conv1.weight", "backbone.bn1.running_mean"):
        assert torch.equal(after[key], before[key]), key
    assert not torch.equal(after["backbone.layer4.0.conv1.weight"], before["backbone.layer4.0.conv1.weight"])
    assert after["head.fc.weight"].shape == (10, 2048)
    assert sum(1 for s in scalars if "loss" in s) == 4  # 20 images, batch 5, logged every iteration
    assert any("accuracy/top1" in s for s in scalars)
    # the ('val', 1) phase: the losses on the validation set with the training pipeline, no gradients
    hook = cfg.custom_hooks[-1]
    assert hook.type == "ValLossHook" and hook.interval == 1 and hook.epochs == 1
    assert hook.dataloader.dataset.pipeline == cfg.train_dataloader.dataset.pipeline
    val_loss = [s["val/loss"] for s in scalars if "val/loss" in s]
    assert len(val_loss) == 1 and val_loss[0] > 0
    assert "Epoch(val loss) [1]  loss:" in log
