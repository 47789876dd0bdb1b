"""LogProcessor: line format, smoothing windows, custom statistics and config errors."""

import re
from types import SimpleNamespace

import pytest

from loomcv.logging import MessageHub
from loomcv.runner import LogProcessor

pytestmark = pytest.mark.timeout(30)


def _runner(hub, epoch=2, it=139, length=100):
    loader = list(range(length))
    return SimpleNamespace(message_hub=hub, epoch=epoch, iter=it, max_iters=300, train_dataloader=loader,
                           val_dataloader=loader[:20], train_loop_built=True)


def test_train_line_format_and_window_mean():
    hub = MessageHub.get_instance("log_processor_test")
    for i in range(40):
        hub.update_scalar("train/loss", float(i))
        hub.update_scalar("train/time", 0.05)
        hub.update_scalar("train/data_time", 0.003)
    hub.update_scalar("train/lr", 0.01)
    hub.update_info("eta", 72.4)
    tag, line = LogProcessor(window_size=10).get_log_after_iter(_runner(hub), 39, "train")
    assert line == ("Epoch(train) [3][ 40/100]  lr: 1.0000e-02  eta: 0:01:12  time: 0.0500  "
                    "data_time: 0.0030  loss: 34.5000")  # mean of the last 10 losses
    assert tag["loss"] == pytest.approx(34.5) and tag["iter"] == 140 and tag["epoch"] == 3
    _, line = LogProcessor(by_epoch=False).get_log_after_iter(_runner(hub), 39, "train")
    assert line.startswith("Iter(train) [140/300]  lr: 1.0000e-02")

    custom = LogProcessor(custom_cfg=[dict(data_src="loss", method_name="max", window_size="global",
                                           log_name="loss_max"),
                                      dict(data_src="loss", method_name="current")])
    tag, line = custom.get_log_after_iter(_runner(hub), 39, "train")
    assert tag["loss_max"] == 39.0 and tag["loss"] == 39.0
    assert re.search(r"loss: 39\.0000  loss_max: 39\.0000$", line)


def test_custom_cfg_errors_are_explained():
    with pytest.raises(ValueError, match="Did you mean: 'mean'"):
        LogProcessor(custom_cfg=[dict(data_src="loss", method_name="meen")])
    with pytest.raises(ValueError, match="log_name"):
        LogProcessor(custom_cfg=[dict(data_src="loss"), dict(data_src="loss", method_name="max")])
    with pytest.raises(ValueError, match="data_src"):
        LogProcessor(custom_cfg=[dict(method_name="max")])
