"""MMSeparateDistributedDataParallel: each child module with trainable parameters in its own DDP.

For models whose parts are optimized separately (a GAN's generator and discriminator,
stepped by their own optim wrappers in the model's ``train_step``): one DDP around the
whole model would expect every parameter in every backward pass. The model's own
``train_step``/``val_step``/``test_step`` run unchanged; a child module that has no
trainable parameters is only moved to the device.
"""

from contextlib import ExitStack, contextmanager
from typing import Any, Dict, Iterator

import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from loomcv.registry import MODEL_WRAPPERS

from .wrappers import LoomDistributedDataParallel


@MODEL_WRAPPERS.register_module()
class MMSeparateDistributedDataParallel(DistributedDataParallel):
    """Args: ``module``, the model; ``broadcast_buffers`` and ``find_unused_parameters`` and any
    other DDP argument go to each child's DDP."""

    def __init__(self, module: nn.Module, broadcast_buffers: bool = False, find_unused_parameters: bool = False,
                 **kwargs):
        nn.Module.__init__(self)  # DDP's own set-up happens per child, not for the whole model
        self.module = module
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else \
            torch.device("cpu")
        for name, child in list(module._modules.items()):
            if child is None:
                continue
            child = child.to(device)
            if any(p.requires_grad for p in child.parameters()):
                child = LoomDistributedDataParallel(module=child, broadcast_buffers=broadcast_buffers,
                                                    find_unused_parameters=find_unused_parameters, **kwargs)
            module._modules[name] = child

    def train_step(self, data: Any, optim_wrapper) -> Dict[str, torch.Tensor]:
        return self.module.train_step(data, optim_wrapper)

    def val_step(self, data: Any) -> list:
        return self.module.val_step(data)

    def test_step(self, data: Any) -> list:
        return self.module.test_step(data)

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """No gradient all-reduce in any child DDP within the block (gradient accumulation)."""
        with ExitStack() as stack:
            for child in self.module._modules.values():
                if isinstance(child, DistributedDataParallel):
                    stack.enter_context(child.no_sync())
            yield

    def train(self, mode: bool = True) -> "MMSeparateDistributedDataParallel":
        self.training = mode
        self.module.train(mode)
        return self

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
