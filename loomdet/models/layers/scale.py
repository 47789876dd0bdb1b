"""A learnable scalar that multiplies its input (MMCV's ``Scale``)."""

import torch
import torch.nn as nn


class Scale(nn.Module):
    """``x * scale`` with ``scale`` a learnable scalar; FCOS keeps one per pyramid level so
    that a shared head can regress distances of different magnitudes."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale
