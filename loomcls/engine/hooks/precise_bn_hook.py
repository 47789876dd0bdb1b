"""PreciseBNHook: replace BatchNorm running statistics by their exact average over training batches.

During training the running mean/variance are exponential averages taken
while the weights kept changing; after an epoch (or ``interval`` iterations
of an iteration-based loop) this hook recomputes them with the weights fixed:
the plain average of the per-batch mean and variance over ``num_samples``
training samples ("Rethinking Batch in BatchNorm", Sec. 3). Give it a higher
priority than CheckpointHook and EMAHook (MMPretrain's configs use
``priority='ABOVE_NORMAL'``) so saved and averaged weights see the new statistics.
"""

import itertools
import logging

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from loomcls.registry import HOOKS
from loomcv import dist
from loomcv.hooks import Hook
from loomcv.logging import print_log
from loomcv.model.forward import run_forward
from loomcv.model.wrappers import unwrap_model
from loomcv.runner.loops import EpochBasedTrainLoop, IterBasedTrainLoop


@torch.no_grad()
def update_bn_stats(model: nn.Module, loader, num_samples: int = 8192, logger="current") -> int:
    """Set every training-mode BatchNorm's running mean/var to the average over
    ``num_samples // (batch_size * world_size)`` batches of ``loader`` (at most one pass);
    returns the number of batches used. Ranks average their results."""
    model = unwrap_model(model)
    world_size = dist.get_world_size()
    batch_size = getattr(loader, "batch_size", None) or 1
    num_iter = min(num_samples // (batch_size * world_size), len(loader))
    bn_layers = [m for m in model.modules() if m.training and isinstance(m, _BatchNorm)]
    if not bn_layers:
        print_log("PreciseBN: the model has no BatchNorm layer in training mode; nothing to update",
                  logger=logger, level=logging.WARNING)
        return 0
    if num_iter < 1:
        print_log(f"PreciseBN: num_samples={num_samples} is less than one batch of {batch_size} x "
                  f"{world_size} rank(s); nothing to update", logger=logger, level=logging.WARNING)
        return 0
    if any(m.training and isinstance(m, (_InstanceNorm, nn.GroupNorm)) for m in model.modules()):
        print_log("PreciseBN: InstanceNorm/GroupNorm layers keep their statistics", logger=logger)
    print_log(f"PreciseBN: {len(bn_layers)} BatchNorm layers, {num_iter} batches", logger=logger)

    means = [torch.zeros_like(bn.running_mean) for bn in bn_layers]
    variances = [torch.zeros_like(bn.running_var) for bn in bn_layers]
    momentums = [bn.momentum for bn in bn_layers]
    for bn in bn_layers:
        bn.momentum = 1.0  # the running statistics become exactly this batch's
    try:
        for data in itertools.islice(loader, num_iter):
            run_forward(model, model.data_preprocessor(data, False), "tensor")
            for i, bn in enumerate(bn_layers):
                means[i] += bn.running_mean / num_iter
                variances[i] += bn.running_var / num_iter
    finally:
        for bn, momentum in zip(bn_layers, momentums):
            bn.momentum = momentum
    if world_size > 1:
        for tensor in means + variances:
            dist.all_reduce(tensor, op="mean")
    for bn, mean, var in zip(bn_layers, means, variances):
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
    return num_iter


@HOOKS.register_module()
class PreciseBNHook(Hook):
    """Args:
        num_samples: training samples (over all ranks) to average the statistics over.
        interval: every this many epochs (epoch-based training) or iterations (iteration-based).
    """

    def __init__(self, num_samples: int = 8192, interval: int = 1):
        for name, value in (("num_samples", num_samples), ("interval", interval)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"PreciseBNHook: {name} must be a positive int, got {value!r}")
        self.num_samples = num_samples
        self.interval = interval

    def _run(self, runner) -> None:
        runner.logger.info(f"Running Precise BN for {self.num_samples} samples...")
        update_bn_stats(runner.model, runner.train_loop.dataloader, self.num_samples, logger=runner.logger)
        runner.logger.info("Finish Precise BN, BN stats updated.")

    def after_train_epoch(self, runner) -> None:
        if isinstance(runner.train_loop, EpochBasedTrainLoop) and self.every_n_epochs(runner, self.interval):
            self._run(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if isinstance(runner.train_loop, IterBasedTrainLoop) and self.every_n_train_iters(runner, self.interval):
            self._run(runner)
