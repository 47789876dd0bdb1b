"""SyncBuffersHook: average model buffers (e.g. BatchNorm statistics) across ranks each epoch."""

from loomcv import dist
from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class SyncBuffersHook(Hook):
    """After each training epoch (and before validation) every rank holds the mean buffers."""

    priority = "NORMAL"

    def __init__(self):
        self._synced = False

    def _sync(self, runner) -> None:
        if not dist.is_distributed():
            return
        from loomcv.model.wrappers import unwrap_model
        model = unwrap_model(runner.model)
        world = dist.get_world_size()
        for buffer in model.buffers():
            if buffer.is_floating_point():
                dist.all_reduce(buffer.data, op="sum")
                buffer.data.div_(world)

    def after_train_epoch(self, runner) -> None:
        self._sync(runner)
