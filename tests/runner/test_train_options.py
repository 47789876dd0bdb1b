"""Training switches users turn on from the command line: --amp (and its scaler across a resume),
--auto-scale-lr, and resuming a run whose dataloader has worker processes."""

import sys
from pathlib import Path

import pytest
import torch

from loomcv.runner import Runner

sys.path.insert(0, str(Path(__file__).parent))
from tiny_components import tiny_config  # noqa: E402


def amp_config(work_dir, max_epochs):
    cfg = tiny_config(work_dir, max_epochs=max_epochs)
    cfg["optim_wrapper"] = dict(type="AmpOptimWrapper", loss_scale="dynamic",
                                optimizer=dict(type="SGD", lr=0.1, momentum=0.9))
    return cfg


def weights(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_amp_float16_scaler_state_survives_a_resume(tmp_path):
    straight = Runner.from_cfg(amp_config(tmp_path / "straight", max_epochs=2))
    straight.train()
    scaler = straight.optim_wrapper.loss_scaler
    assert isinstance(scaler, torch.amp.GradScaler) and straight.optim_wrapper.cast_dtype == torch.float16

    first = Runner.from_cfg(amp_config(tmp_path / "split", max_epochs=1))
    first.train()
    saved = torch.load(tmp_path / "split" / "epoch_1.pth", weights_only=True)
    assert "loss_scaler" in saved["optimizer"] and saved["optimizer"]["loss_scaler"]["scale"] > 0

    resumed = Runner.from_cfg(dict(amp_config(tmp_path / "split", max_epochs=2), resume=True))
    resumed.train()
    assert resumed.optim_wrapper.loss_scaler.get_scale() == scaler.get_scale()
    assert resumed.optim_wrapper.loss_scaler.state_dict()["_growth_tracker"] == \
        scaler.state_dict()["_growth_tracker"]
    for key, value in weights(straight).items():
        assert torch.equal(value, weights(resumed)[key]), key


def test_amp_switch_of_the_train_command_turns_on_the_amp_wrapper(tmp_path):
    from loomcv.cli.train import add_arguments, build_config
    import argparse
    from loomcv.config import Config
    config = tmp_path / "tiny.py"
    Config(tiny_config(tmp_path / "work", max_epochs=1)).dump(str(config))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    cfg = build_config(parser.parse_args([str(config), "--amp"]))
    assert cfg.optim_wrapper.type == "AmpOptimWrapper" and cfg.optim_wrapper.loss_scale == "dynamic"
    with pytest.raises(ValueError, match="auto_scale_lr=dict"):
        build_config(parser.parse_args([str(config), "--auto-scale-lr"]))


@pytest.mark.parametrize("base_batch_size, expected_lr", [(16, 0.05), (4, 0.2)])
def test_auto_scale_lr_scales_by_the_real_total_batch_size(tmp_path, base_batch_size, expected_lr):
    cfg = tiny_config(tmp_path, max_epochs=1, batch_size=8,
                      auto_scale_lr=dict(enable=True, base_batch_size=base_batch_size))
    runner = Runner.from_cfg(cfg)
    runner.train()
    # The milestone is at epoch 2, so after one epoch the lr is still the scaled base lr.
    assert runner.optim_wrapper.get_lr()["lr"] == pytest.approx([expected_lr])
    log = next((tmp_path).glob("*/*.log")).read_text()
    assert f"LR is scaled by {8 / base_batch_size:g}" in log


def test_resume_with_worker_processes_matches_an_uninterrupted_run(tmp_path):
    def config(work_dir, max_epochs):
        cfg = tiny_config(work_dir, max_epochs=max_epochs)
        cfg["train_dataloader"] = dict(cfg["train_dataloader"], num_workers=2, persistent_workers=True)
        # the schedule's end is part of its saved state: give the full run's length to both runs
        cfg["param_scheduler"] = [dict(type="MultiStepLR", milestones=[2], gamma=0.1, end=3)]
        return cfg

    straight = Runner.from_cfg(config(tmp_path / "straight", 3))
    straight.train()
    Runner.from_cfg(config(tmp_path / "split", 2)).train()
    resumed = Runner.from_cfg(dict(config(tmp_path / "split", 3), resume=True))
    resumed.train()
    assert resumed.epoch == 3
    for key, value in weights(straight).items():
        assert torch.equal(value, weights(resumed)[key]), key
