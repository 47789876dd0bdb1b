"""Shipped zoo recipes run end to end on the tiny ImageNet-layout fixture: MobileOne's
progressive-resizing recipe (SwitchRecipeHook, EMA, cosine weight decay) trains two epochs,
switching its pipeline before the second, and its deploy config evaluates the result."""

import glob

import torch

from loomcls.registry import MODELS
from loomcv.cli.main import main
from loomcv.config import Config
from loomcv.config.loader import find_config


def test_mobileone_recipe_switches_and_deploys(tmp_path, layouts):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        root = layouts.imagenet(tmp_path / "data")
        opts = [f"{d}.dataset.data_root={root}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")]
        opts += [f"{d}.{k}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")
                 for k in ("batch_size=3", "num_workers=0")]
        opts += ["train_cfg.max_epochs=2", "model.head.num_classes=3", "data_preprocessor.num_classes=3",
                 "val_evaluator.topk=[1]", "test_evaluator.topk=[1]", "custom_hooks.0.schedule.0.action_epoch=2",
                 "model.backbone.arch=s1"]
        work = tmp_path / "work"
        assert main(["train", "mobileone-s0_8xb32_in1k", "--work-dir", str(work), "--cfg-options", *opts,
                     "model.head.in_channels=1280"]) == 0
        log = open(glob.glob(str(work / "*" / "*.log"))[0]).read()
        assert "Switch train pipeline at epoch 2." in log
        ckpt = work / "epoch_2.pth"
        assert ckpt.is_file()
        # fold the trained model, save it, and evaluate it through the deploy config
        cfg = Config.fromfile(find_config("mobileone-s0_8xb32_in1k"))
        cfg.model.backbone.arch, cfg.model.head.num_classes, cfg.model.head.in_channels = "s1", 3, 1280
        model = MODELS.build(cfg.model).eval()
        model.load_state_dict(torch.load(ckpt, weights_only=True)["state_dict"])
        x = torch.randn(2, 3, 64, 64)
        with torch.no_grad():
            before = model(x)
            model.backbone.switch_to_deploy()
            torch.testing.assert_close(model(x), before, rtol=1e-4, atol=1e-4)
        deployed = tmp_path / "deployed.pth"
        torch.save({"state_dict": model.state_dict(), "meta": {}}, deployed)
        assert main(["test", "mobileone-s0_deploy_8xb32_in1k", str(deployed), "--work-dir", str(tmp_path / "test"),
                     "--cfg-options", *opts, "model.head.in_channels=1280"]) == 0
    finally:
        torch.set_num_threads(threads)
