"""Global average pooling between a backbone and a head."""

import torch
import torch.nn as nn

from loomcls.registry import MODELS


@MODELS.register_module()
class GlobalAveragePooling(nn.Module):
    """Average each channel over space and flatten: (N, C, ...) -> (N, C).

    Args:
        dim: 1, 2 or 3 spatial dimensions.
    Takes a tensor or a tuple of tensors (several backbone stages) and
    returns the same kind.
    """

    def __init__(self, dim: int = 2):
        super().__init__()
        pools = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}
        if dim not in pools:
            raise ValueError(f"GlobalAveragePooling: dim must be 1, 2 or 3, got {dim!r}")
        self.dim = dim
        self.gap = pools[dim](1)

    def init_weights(self):
        pass

    def _pool(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != self.dim + 2:
            raise ValueError(f"GlobalAveragePooling(dim={self.dim}) needs {self.dim + 2}-D inputs, "
                             f"got shape {tuple(x.shape)}")
        return self.gap(x).flatten(1)

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self._pool(x) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return self._pool(inputs)
        raise TypeError(f"GlobalAveragePooling: inputs must be a tensor or a tuple of tensors, "
                        f"got {type(inputs).__name__}")
