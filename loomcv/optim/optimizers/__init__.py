"""Optimizers registered in OPTIMIZERS: every ``torch.optim`` one, plus the
large-batch and adaptive-momentum optimizers that MMPretrain recipes name
(``Lamb``, ``LARS``, ``Adan``), one file per family."""

from .adan import Adan
from .lamb import Lamb
from .lars import LARS
from .torch_optimizers import TORCH_OPTIMIZERS, ZeroRedundancyOptimizer, register_torch_optimizers

__all__ = ["Adan", "Lamb", "LARS", "TORCH_OPTIMIZERS", "ZeroRedundancyOptimizer", "register_torch_optimizers"]
