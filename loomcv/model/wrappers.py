"""Model wrappers for distributed training, and SyncBN conversion.

``LoomDistributedDataParallel.train_step`` calls the wrapped model's pieces
but runs the loss forward through DDP's ``forward``, which is what makes DDP
all-reduce the gradients during ``backward``. Its first step also checks
that every trainable parameter received a gradient: DDP itself only fails
one step later, with a message that names no parameter.
"""

import logging
from typing import Dict, List

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.parallel import DataParallel, DistributedDataParallel

from loomcv import dist
from loomcv.logging import print_log
from loomcv.registry import MODEL_WRAPPERS

from .forward import run_forward

MODEL_WRAPPERS.register_module("DistributedDataParallel", module=DistributedDataParallel)
MODEL_WRAPPERS.register_module("DataParallel", module=DataParallel)


@MODEL_WRAPPERS.register_module(name=["LoomDistributedDataParallel", "MMDistributedDataParallel"])
class LoomDistributedDataParallel(DistributedDataParallel):
    """DDP with ``train_step``/``val_step``/``test_step`` that the loops call."""

    def __init__(self, module: nn.Module, detect_anomalous_params: bool = False, **kwargs):
        super().__init__(module=module, **kwargs)
        self.detect_anomalous_params = detect_anomalous_params
        self._unused_checked = False

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        if not self._unused_checked:
            self._unused_checked = True
            return self._checked_train_step(data, optim_wrapper)
        with optim_wrapper.optim_context(self):
            data = self.module.data_preprocessor(data, training=True)
            losses = run_forward(self, data, "loss")
        loss, log_vars = self.module.parse_losses(losses)
        if self.detect_anomalous_params:
            _report_unused(self.module, loss)
        optim_wrapper.update_params(loss)
        return log_vars

    def _checked_train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """The first step, noting which trainable parameters a gradient reaches (on any rank)."""
        named = [(n, p) for n, p in self.module.named_parameters() if p.requires_grad]
        reached = torch.zeros(len(named), dtype=torch.uint8)
        handles = [p.register_post_accumulate_grad_hook(lambda _, i=i: reached.__setitem__(i, 1))
                   for i, (_, p) in enumerate(named)]
        try:
            log_vars = self.train_step(data, optim_wrapper)
        finally:
            for handle in handles:
                handle.remove()
        per_rank = dist.all_gather(reached)
        unused = {n: [r for r, got in enumerate(per_rank) if not got[i]] for i, (n, _) in enumerate(named)}
        unused = {n: ranks for n, ranks in unused.items() if ranks}
        if unused:
            message = describe_unused(self.module, unused)
            if not self.find_unused_parameters:
                raise UnusedParametersError(
                    message + "\nDistributedDataParallel would stop at the next iteration ('Expected to "
                    "have finished reduction in the prior iteration'). Use them in the loss, freeze them "
                    "(requires_grad=False), or set model_wrapper_cfg=dict(type='MMDistributedDataParallel', "
                    "find_unused_parameters=True).")
            print_log(message + "\nfind_unused_parameters=True copes with them, at the cost of a graph "
                      "search every iteration; freeze or remove them if they are never used.",
                      logger="current", level=logging.WARNING)
        return log_vars

    def val_step(self, data) -> list:
        return self.module.val_step(data)

    def test_step(self, data) -> list:
        return self.module.test_step(data)


def unused_parameters(model: nn.Module, loss: torch.Tensor) -> List[str]:
    """Names of the trainable parameters that ``loss`` does not depend on (they break DDP)."""
    reached, stack = set(), [loss.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn in reached:
            continue
        reached.add(fn)
        if hasattr(fn, "variable"):
            reached.add(fn.variable)
        stack.extend(f for f, _ in fn.next_functions)
    return [n for n, p in model.named_parameters() if p.requires_grad and p not in reached]


def _report_unused(model: nn.Module, loss: torch.Tensor) -> None:
    unused = unused_parameters(model, loss)
    if unused:
        raise RuntimeError("parameters not used in producing the loss (set find_unused_parameters"
                           "=True or remove them): " + ", ".join(unused))


def detect_anomalous_params(loss: torch.Tensor, model: nn.Module) -> List[str]:
    """Log (at ERROR) and return the trainable parameters ``loss`` does not depend on: the ones
    that make DDP without ``find_unused_parameters`` fail (MMEngine's helper, for debugging)."""
    unused = unused_parameters(model, loss)
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    for name in unused:
        print_log(f"{name} with shape {shapes[name]} is not in the computational graph", "current", logging.ERROR)
    return unused


class UnusedParametersError(RuntimeError):
    """Trainable parameters got no gradient in the first DDP step (raised on every rank)."""


def describe_unused(model: nn.Module, unused: Dict[str, List[int]]) -> str:
    """``unused`` (parameter name -> ranks where no gradient reached it) as text, one line per
    module: the largest module whose trainable parameters are all unused, with full names."""
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]

    def owner(name: str) -> str:
        parts = name.split(".")[:-1]
        best = ".".join(parts)
        for depth in range(len(parts), 0, -1):
            prefix = ".".join(parts[:depth]) + "."
            if all(n in unused for n in trainable if n.startswith(prefix)):
                best = prefix[:-1]
            else:
                break
        return best or "(top level)"

    groups: Dict[str, List[str]] = {}
    for name in unused:
        groups.setdefault(owner(name), []).append(name)
    ranks = sorted({r for rs in unused.values() for r in rs})
    lines = [f"{len(unused)} trainable parameter(s) of {type(model).__name__} received no gradient in the "
             f"first training iteration (rank {', '.join(map(str, ranks))}):"]
    for module, names in groups.items():
        lines.append(f"  {module}: {', '.join(names)}")
    return "\n".join(lines)


def is_model_wrapper(model: nn.Module) -> bool:
    """Whether ``model`` is an instance of a class registered in MODEL_WRAPPERS (or a child)."""
    registries, classes = [MODEL_WRAPPERS], []
    while registries:
        registry = registries.pop()
        registry.import_from_locations()
        classes.extend(c for c in registry.module_dict.values() if isinstance(c, type))
        registries.extend(registry.children.values())
    return isinstance(model, tuple(classes))


def unwrap_model(model: nn.Module) -> nn.Module:
    """The model inside (possibly nested) wrappers registered in MODEL_WRAPPERS, or ``model`` itself.

    The one place that strips DDP/DataParallel-style wrappers: saving, loading,
    weight init, optimizer construction and hooks all see the same module.
    Other modules with a ``.module`` attribute (an averaged model) are kept.
    """
    while is_model_wrapper(model):
        model = model.module
    return model


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


#: MMEngine's name for the DDP wrapper (registered under both names)
MMDistributedDataParallel = LoomDistributedDataParallel
