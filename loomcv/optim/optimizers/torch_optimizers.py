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


_ZERO_CLASS = None


def _zero_class():
    """The ZeroRedundancyOptimizer class, made on first use (torch.distributed.optim takes a second to import)."""
    global _ZERO_CLASS
    if _ZERO_CLASS is None:
        from torch.distributed.optim import ZeroRedundancyOptimizer as _TorchZero

        from loomcv.dist import is_main_process

        class ZeroRedundancyOptimizer(_TorchZero):
            """torch's ZeroRedundancyOptimizer built from a config: ``optimizer_type`` names the
            optimizer whose state is sharded across ranks (any name OPTIMIZERS knows)."""

            def __init__(self, params, optimizer_type: str, **kwargs):
                optimizer_class = OPTIMIZERS.get(optimizer_type) if isinstance(optimizer_type, str) else optimizer_type
                if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, torch.optim.Optimizer)):
                    raise ValueError(f"ZeroRedundancyOptimizer: optimizer_type must name a torch optimizer "
                                     f"(e.g. 'AdamW'), got {optimizer_type!r}")
                super().__init__(params, optimizer_class, **kwargs)

            def state_dict(self) -> dict:
                """The whole optimizer state, gathered on rank 0 (others get an empty dict), as MMEngine saves it."""
                self.consolidate_state_dict()
                return super().state_dict() if is_main_process() else {}

        _ZERO_CLASS = ZeroRedundancyOptimizer
    return _ZERO_CLASS


class _LazyZeroMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return _ZERO_CLASS is not None and isinstance(obj, _ZERO_CLASS)


@OPTIMIZERS.register_module()
class ZeroRedundancyOptimizer(metaclass=_LazyZeroMeta):
    """MMEngine's ZeroRedundancyOptimizer (``optim_wrapper=dict(optimizer=dict(type='ZeroRedundancyOptimizer',
    optimizer_type='AdamW', lr=...))``): shards the optimizer state across the ranks of a
    distributed run. Calling the class builds torch's ZeroRedundancyOptimizer subclass."""

    def __new__(cls, params, optimizer_type: str, **kwargs):
        return _zero_class()(params, optimizer_type, **kwargs)
