"""Every ``torch.optim`` optimizer, registered in OPTIMIZERS under its class name."""

import inspect

import torch

from loomcv.registry import OPTIMIZERS


def register_torch_optimizers() -> list:
    names = []
    for name, obj in vars(torch.optim).items():
        if (inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
                and obj is not torch.optim.Optimizer and not name.startswith("_")):
            OPTIMIZERS.register_module(name, module=obj)
            names.append(name)
    return names


TORCH_OPTIMIZERS = register_torch_optimizers()
