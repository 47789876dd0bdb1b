"""Model wrappers for distributed training, and SyncBN conversion.

``LoomDistributedDataParallel.train_step`` calls the wrapped model's pieces
but runs the loss forward through DDP's ``forward``, which is what makes DDP
all-reduce the gradients during ``backward``.
"""

from typing import Dict

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DataParallel, DistributedDataParallel

from loomcv.registry import MODEL_WRAPPERS

from .base_model import run_forward

MODEL_WRAPPERS.register_module("DistributedDataParallel", module=DistributedDataParallel)
MODEL_WRAPPERS.register_module("DataParallel", module=DataParallel)


@MODEL_WRAPPERS.register_module(name=["LoomDistributedDataParallel", "MMDistributedDataParallel"])
class LoomDistributedDataParallel(DistributedDataParallel):
    """DDP with ``train_step``/``val_step``/``test_step`` that the loops call."""

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False, **kwargs):
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = run_forward(self, data, "loss")
        loss, log_vars = self.module.parse_losses(losses)
        if self.detect_anomalous_params:
            _report_unused(self.module, loss)
        optim_wrapper.update_params(loss)
        return log_vars

    def val_step(self, data) -> list:
        return self.module.val_step(data)

    def test_step(self, data) -> list:
        return self.module.test_step(data)


def _report_unused(model: nn.Module, loss: torch.Tensor) -> None:
    """Name trainable parameters that the loss does not depend on (they break DDP)."""
    reached, stack = set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in reached:
            continue
        reached.add(fn)
        if hasattr(fn, "variable"):
            reached.add(fn.variable)
        stack.extend(f for f, _ in fn.next_functions)
    unused = [n for n, p in model.named_parameters() if p.requires_grad and p not in reached]
    if unused:
        raise RuntimeError("parameters not used in producing the loss (set find_unused_parameters"
                           "=True or remove them): " + ", ".join(unused))


def is_model_wrapper(model: nn.Module) -> bool:
    """Whether ``model`` is an instance of a class registered in MODEL_WRAPPERS (or a child)."""
    registries, classes = [MODEL_WRAPPERS], []
    while registries:
        registry = registries.pop()
        registry.import_from_locations()
        classes.extend(c for c in registry.module_dict.values() if isinstance(c, type))
        registries.extend(registry.children.values())
    return isinstance(model, tuple(classes))


class _BatchNormXd(_BatchNorm):
    """A BatchNorm for any input rank: what a SyncBatchNorm turns back into."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return


def convert_sync_batchnorm(module: nn.Module, process_group=None) -> nn.Module:
    """Replace every BatchNorm with SyncBatchNorm (weights kept)."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(module, process_group)


def revert_sync_batchnorm(module: nn.Module) -> nn.Module:
    """Replace every SyncBatchNorm with a plain BatchNorm (weights, buffers, requires_grad kept)."""
    out = module
    if isinstance(module, nn.SyncBatchNorm):
        out = _BatchNormXd(module.num_features, module.eps, module.momentum, module.affine,
                           module.track_running_stats)
        if module.affine:
            with torch.no_grad():
                out.weight = module.weight
                out.bias = module.bias
        out.running_mean, out.running_var = module.running_mean, module.running_var
        out.num_batches_tracked = module.num_batches_tracked
        out.training = module.training
    for name, child in module.named_children():
        out.add_module(name, revert_sync_batchnorm(child))
    return out
