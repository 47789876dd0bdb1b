"""RuntimeInfoHook: keeps the MessageHub's view of the run (epoch, iter, lr, losses, metrics) current."""

from typing import Optional

import numpy as np

from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class RuntimeInfoHook(Hook):
    """Publishes counters, learning rates, the step's log variables and metrics.

    Log variables are stored as tensors; the history buffers turn them into
    floats only when a log line is written, so no step waits for the device.
    """

    priority = "VERY_HIGH"

    def before_run(self, runner) -> None:
        hub = runner.message_hub
        hub.update_info_dict(dict(cfg=runner.cfg.pretty_text if hasattr(runner.cfg, "pretty_text") else None,
                                  seed=runner.seed, experiment_name=runner.experiment_name), resumed=False)
        hub.update_info("dataset_meta", _dataset_meta(runner), resumed=False)

    def before_train(self, runner) -> None:
        hub = runner.message_hub
        hub.update_info_dict(dict(epoch=runner.epoch, iter=runner.iter, max_epochs=runner.max_epochs,
                                  max_iters=runner.max_iters))
        hub.update_info("loop_stage", "train")

    def after_train(self, runner) -> None:
        runner.message_hub.pop_info("loop_stage")

    # ``loop_stage`` says which loop runs now ('train', 'val', 'test'); validation inside
    # training hands 'train' back when it ends
    def before_val(self, runner) -> None:
        self._outer_stage = runner.message_hub.get_info("loop_stage")
        runner.message_hub.update_info("loop_stage", "val")

    def after_val(self, runner) -> None:
        self._end_stage(runner)

    def before_test(self, runner) -> None:
        self._outer_stage = runner.message_hub.get_info("loop_stage")
        runner.message_hub.update_info("loop_stage", "test")

    def after_test(self, runner) -> None:
        self._end_stage(runner)

    def _end_stage(self, runner) -> None:
        outer = getattr(self, "_outer_stage", None)
        if outer == "train":
            runner.message_hub.update_info("loop_stage", outer)
        else:
            runner.message_hub.pop_info("loop_stage")
        self._outer_stage = None

    def before_train_epoch(self, runner) -> None:
        runner.message_hub.update_info("epoch", runner.epoch)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        hub = runner.message_hub
        hub.update_info("iter", runner.train_loop.iter)
        for name, values in runner.optim_wrapper.get_lr().items():
            if values:
                hub.update_scalar("train/lr" if name == "lr" else f"train/{name}", values[0])

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs: Optional[dict] = None) -> None:
        if outputs:
            update = runner.message_hub.update_scalar
            for key, value in outputs.items():
                update("train/" + key, value)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._publish(runner, "val", metrics)

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        self._publish(runner, "test", metrics)

    @staticmethod
    def _publish(runner, mode: str, metrics: Optional[dict]) -> None:
        hub = runner.message_hub
        hub.update_info(f"{mode}_metrics", dict(metrics or {}), resumed=False)
        for key, value in (metrics or {}).items():
            if is_scalar(value):
                hub.update_scalar(f"{mode}/{key}", value)


def is_scalar(value) -> bool:
    """A number worth a history buffer: int/float, a numpy scalar, or a one-element tensor or array."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return not isinstance(value, np.bool_)
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    numel = getattr(value, "numel", None)
    return callable(numel) and numel() == 1


def _dataset_meta(runner) -> Optional[dict]:
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        loader = runner._built_dataloader(name)
        meta = getattr(getattr(loader, "dataset", None), "metainfo", None)
        if meta is not None:
            return dict(meta)
    return None
