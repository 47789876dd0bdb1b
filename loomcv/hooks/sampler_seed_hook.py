"""DistSamplerSeedHook: tells the sampler which epoch starts, so each epoch shuffles differently."""

from loomcv.registry import HOOKS

from .hook import Hook


@HOOKS.register_module()
class DistSamplerSeedHook(Hook):
    """Calls ``set_epoch(runner.epoch)`` on the training sampler (or batch sampler's sampler)."""

    priority = "NORMAL"

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_loop.dataloader
        for sampler in (getattr(loader, "sampler", None),
                        getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
            if hasattr(sampler, "set_epoch"):
                sampler.set_epoch(runner.epoch)
                return
