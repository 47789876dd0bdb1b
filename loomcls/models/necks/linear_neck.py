"""A linear projection neck: optional global pooling, then Linear -> norm -> act
on the last backbone output (self-supervised and retrieval heads use it)."""

import copy
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_activation_layer, build_norm_layer


@MODELS.register_module()
class LinearNeck(BaseModule):
    """Project the last feature to ``out_channels``.

    Args:
        in_channels / out_channels: the Linear layer's sizes.
        gap_dim: 0 (the input is already a vector), 1, 2 or 3 (average-pool
            that many trailing dimensions first).
        norm_cfg: BN1d by default; None for no norm.
        act_cfg: None (default) for no activation.
    Returns a one-element tuple, as MMPretrain's.
    """

    def __init__(self, in_channels: int, out_channels: int, gap_dim: int = 0,
                 norm_cfg: Optional[dict] = dict(type="BN1d"), act_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        pools = {0: nn.Identity, 1: lambda: nn.AdaptiveAvgPool1d(1), 2: lambda: nn.AdaptiveAvgPool2d((1, 1)),
                 3: lambda: nn.AdaptiveAvgPool3d((1, 1, 1))}
        if gap_dim not in pools:
            raise ValueError(f"LinearNeck: gap_dim must be one of [0, 1, 2, 3], got {gap_dim!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.norm_cfg, self.act_cfg = copy.deepcopy(norm_cfg), copy.deepcopy(act_cfg)
        self.gap = pools[gap_dim]()
        self.fc = nn.Linear(in_features=in_channels, out_features=out_channels)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1] if norm_cfg else nn.Identity()
        self.act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()

    def forward(self, inputs: Union[Tuple, torch.Tensor]) -> Tuple[torch.Tensor]:
        if isinstance(inputs, tuple):
            if not inputs:
                raise ValueError("LinearNeck: got an empty tuple of features")
            inputs = inputs[-1]
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"LinearNeck: inputs must be a tensor or a tuple of tensors, got {type(inputs).__name__}")
        x = self.gap(inputs)
        x = x.view(x.size(0), -1)
        return (self.act(self.norm(self.fc(x))),)
