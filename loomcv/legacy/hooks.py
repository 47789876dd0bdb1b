"""ValLossHook: the loss on held-out data every few epochs, as MMCV 1.x's ``('val', n)`` workflow phases.

``workflow = [('train', 2), ('val', 1)]`` alternated two training epochs with
one epoch that computed the training losses on the validation set, without
gradients, to watch for over-fitting. The config translation turns such a
workflow into this hook; metrics-based validation stays the ValLoop's job.
"""

from typing import Dict, Mapping, Optional, Union

import torch
from torch.utils.data import DataLoader

from loomcv import dist
from loomcv.hooks.hook import Hook
from loomcv.model.base_model import run_forward
from loomcv.registry import HOOKS


@HOOKS.register_module()
class ValLossHook(Hook):
    """Every ``interval`` training epochs, ``epochs`` passes over ``dataloader`` in eval mode under
    ``no_grad``; the mean of each loss term (weighted by batch size, over all ranks) is logged as
    ``val/<name>`` (``val/loss`` for the total) to the log, the message hub and the vis backends."""

    priority = "LOW"

    def __init__(self, dataloader: Union[DataLoader, Mapping], interval: int = 1, epochs: int = 1):
        if not isinstance(interval, int) or interval < 1 or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"ValLossHook: interval and epochs must be positive ints, got "
                             f"interval={interval!r}, epochs={epochs!r}")
        self.dataloader = dataloader
        self.interval, self.epochs = interval, epochs

    def before_train(self, runner) -> None:
        if isinstance(self.dataloader, Mapping):
            self.dataloader = runner.build_dataloader(dict(self.dataloader), seed=runner.seed)

    def after_train_epoch(self, runner) -> None:
        if not self.every_n_epochs(runner, self.interval):
            return
        from loomcv.model.wrappers import unwrap_model
        model = unwrap_model(runner.model)
        sums: Dict[str, torch.Tensor] = {}
        count = 0
        model.eval()
        try:
            with torch.no_grad():
                for _ in range(self.epochs):
                    for batch in self.dataloader:
                        data = model.data_preprocessor(batch, False)
                        _, log_vars = model.parse_losses(run_forward(model, data, "loss"))
                        size = _batch_size(data)
                        for name, value in log_vars.items():  # stays on the device: one transfer below
                            sums[name] = sums.get(name, 0.0) + value.double() * size
                        count += size
        finally:
            model.train()
        names = list(sums)
        totals = torch.stack([sums[n] for n in names])
        totals = torch.cat([totals, totals.new_tensor([float(count)])])
        dist.all_reduce(totals, op="sum")
        totals = totals.tolist()
        means = {f"val/{n}": v / max(totals[-1], 1.0) for n, v in zip(names, totals)}
        for key, value in means.items():
            runner.message_hub.update_scalar(key, value)
        runner.logger.info(f"Epoch(val loss) [{runner.epoch + 1}]  " +
                           "  ".join(f"{k[4:]}: {v:.4f}" for k, v in means.items()))
        runner.visualizer.add_scalars(means, step=runner.epoch + 1)


def _batch_size(data) -> int:
    inputs: Optional[object] = data.get("inputs") if isinstance(data, Mapping) else data[0]
    if hasattr(inputs, "shape"):
        return int(inputs.shape[0])
    return len(inputs) if hasattr(inputs, "__len__") else 1


__all__ = ["ValLossHook"]
