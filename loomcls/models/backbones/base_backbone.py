"""What every backbone shares: BaseModule's init_cfg, outputs as a tuple of
feature maps (one per entry of ``out_indices``), and frozen stages / norm_eval
that survive ``model.train()``."""

from typing import List

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from loomcv.model import BaseModule


class BaseBackbone(BaseModule):
    """Backbones return a tuple of tensors from ``forward``.

    A backbone with ``frozen_stages`` lists the modules they cover in
    :meth:`frozen_modules`; ``train(mode)`` then keeps those in eval mode
    without gradients, and with ``norm_eval`` keeps every BN layer in eval.
    """

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x) -> tuple of tensors")

    def frozen_modules(self) -> List[nn.Module]:
        """The modules that ``frozen_stages`` freezes (none by default)."""
        return []

    def _freeze_stages(self) -> None:
        for module in self.frozen_modules():
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and getattr(self, "norm_eval", False):
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self
