"""Custom hooks in real (tiny) runs: EMA, early stopping, profiler trace, empty cache, sync buffers,
and the LoggerHook's TensorBoard output read back with tensorboard's reader."""

import os
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.dirname(__file__)), "runner"))
import tiny_components as T  # noqa: E402

from loomcv.checkpoint import _load_checkpoint  # noqa: E402
from loomcv.runner import Runner  # noqa: E402

pytestmark = pytest.mark.timeout(60)


def test_ema_hook_validates_with_averaged_weights_and_saves_them(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=2)
    cfg["custom_hooks"] = [dict(type="EMAHook", momentum=0.5)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    ema_hook = next(h for h in runner.hooks if type(h).__name__ == "EMAHook")
    ckpt = _load_checkpoint(str(tmp_path / "wd" / "epoch_2.pth"))
    averaged = ema_hook.ema_model.module.state_dict()
    for key, value in ckpt["state_dict"].items():  # 'state_dict' holds the averaged weights
        assert torch.equal(value, averaged[key]), key
    own = runner.model.state_dict()
    assert not torch.equal(own["fc1.weight"], averaged["fc1.weight"])  # the model kept its own weights
    assert torch.equal(ckpt["ema_state_dict"]["module.fc1.weight"], own["fc1.weight"])


def test_early_stopping_hook_stops_training(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=8)
    # an unreachable improvement: stops after `patience` validations
    cfg["custom_hooks"] = [dict(type="EarlyStoppingHook", monitor="tiny/accuracy", min_delta=1000, patience=2)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.epoch == 3  # first validation sets the best, two more without improvement


def test_early_stopping_rejects_unknown_rule():
    from loomcv.hooks import EarlyStoppingHook
    with pytest.raises(ValueError, match="rule"):
        EarlyStoppingHook(monitor="weird_value")


def test_profiler_hook_writes_a_chrome_trace(tmp_path):
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=2)
    trace = tmp_path / "trace.json"
    cfg["custom_hooks"] = [dict(type="ProfilerHook", by_epoch=False, profile_times=3, json_trace_path=str(trace)),
                           dict(type="EmptyCacheHook", after_iter=True), dict(type="SyncBuffersHook")]
    Runner.from_cfg(cfg).train()
    text = trace.read_text()
    assert '"traceEvents"' in text and "aten::linear" in text


def test_tensorboard_scalars_read_back(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=1,
                        visualizer=dict(type="Visualizer", vis_backends=[dict(type="LocalVisBackend"),
                                                                         dict(type="TensorboardVisBackend")]))
    runner = Runner.from_cfg(cfg)
    runner.train()
    runner.visualizer.close()
    event_dirs = [root for root, _, files in os.walk(tmp_path / "wd") if any("tfevents" in f for f in files)]
    assert event_dirs
    acc = EventAccumulator(event_dirs[0])
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == [4, 8]
    assert len(acc.Scalars("tiny/accuracy")) == 1


def test_ema_hook_with_load_from_a_checkpoint_whose_head_has_another_shape(tmp_path):
    """Fine-tuning with EMA: mis-shaped keys are skipped for the average as for the model."""
    cfg = T.tiny_config(tmp_path / "pre", max_epochs=1)
    Runner.from_cfg(cfg).train()
    ckpt = _load_checkpoint(str(tmp_path / "pre" / "epoch_1.pth"))
    ckpt["state_dict"]["fc2.weight"] = torch.randn(5, 16)  # a 5-class head
    ckpt["state_dict"]["fc2.bias"] = torch.randn(5)
    torch.save({"state_dict": ckpt["state_dict"]}, tmp_path / "five_classes.pth")

    cfg = T.tiny_config(tmp_path / "ft", max_epochs=1, load_from=str(tmp_path / "five_classes.pth"))
    cfg["custom_hooks"] = [dict(type="EMAHook", momentum=0.5)]
    runner = Runner.from_cfg(cfg)
    runner.train()  # used to fail in the hook: torch's load_state_dict refused the 5-class head
    ema_hook = next(h for h in runner.hooks if type(h).__name__ == "EMAHook")
    assert ema_hook.ema_model.module.state_dict()["fc2.weight"].shape == (2, 16)
    log = next((tmp_path / "ft").glob("*/*.log")).read_text()
    assert "fc2.weight" in log and "(5, 16)" in log  # the load report names the skipped head


def test_val_loss_hook_logs_the_eval_mode_loss_every_interval_epochs(tmp_path):
    import torch.nn.functional as F
    cfg = T.tiny_config(tmp_path / "wd", max_epochs=4)
    held_out = dict(batch_size=5, num_workers=0, dataset=dict(type="TinyPoints", num=23, seed=3),
                    sampler=dict(type="DefaultSampler", shuffle=False), collate_fn=dict(type="default_collate"))
    cfg["custom_hooks"] = [dict(type="ValLossHook", dataloader=held_out, interval=2)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    history = runner.message_hub.get_scalar("val/loss")
    assert len(history.data[0]) == 2  # after epochs 2 and 4
    data = T.TinyPoints(num=23, seed=3)
    runner.model.eval()
    with torch.no_grad():  # uneven last batch (23 = 4 * 5 + 3): the mean is over samples
        expected = F.cross_entropy(runner.model(data.points), data.labels).item()
    assert history.current() == pytest.approx(expected, rel=1e-5)
    log = next((tmp_path / "wd").glob("*/*.log")).read_text()
    assert "Epoch(val loss) [2]  loss:" in log and "Epoch(val loss) [4]  loss:" in log
    with pytest.raises(ValueError, match="interval"):
        from loomcv.legacy.hooks import ValLossHook
        ValLossHook(held_out, interval=0)
