"""What every backbone shares: BaseModule's init_cfg, and outputs as a tuple
of feature maps (one per entry of ``out_indices``)."""

from loomcv.model import BaseModule


class BaseBackbone(BaseModule):
    """Backbones return a tuple of tensors from ``forward``; ``train(mode)``
    re-applies frozen stages and norm_eval so they survive ``model.train()``."""

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x) -> tuple of tensors")
