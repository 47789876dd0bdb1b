"""Norm layers that MMPretrain adds to MMCV's: ``LN2d`` (LayerNorm over the channels
of an NCHW map) and ``GRN`` (ConvNeXt V2's global response normalization).

Both take ``data_format='channel_first'`` (N, C, H, W) or ``'channel_last'``
(N, H, W, C), because ConvNeXt blocks run their pointwise layers channel-last.
"""

from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.errors import RegistryError
from loomcv.validation import check_choice

DATA_FORMATS = ("channel_first", "channel_last")


@MODELS.register_module()
class GRN(nn.Module):
    """x + gamma * (x * N(x)) + beta, where N(x) is each channel's spatial L2 norm
    divided by the mean of those norms over the channels (zero-initialized, so a
    fresh GRN is the identity)."""

    def __init__(self, in_channels: int, eps: float = 1e-6):
        super().__init__()
        self.in_channels, self.eps = in_channels, eps
        self.gamma = nn.Parameter(torch.zeros(in_channels))
        self.beta = nn.Parameter(torch.zeros(in_channels))

    def forward(self, x: torch.Tensor, data_format: str = "channel_first") -> torch.Tensor:
        check_choice(self, "data_format", data_format, DATA_FORMATS)
        if data_format == "channel_last":
            norms = torch.linalg.vector_norm(x, dim=(1, 2), keepdim=True)
            scale = norms / (norms.mean(dim=-1, keepdim=True) + self.eps)
            return self.gamma * (x * scale) + self.beta + x
        norms = torch.linalg.vector_norm(x, dim=(2, 3), keepdim=True)
        scale = norms / (norms.mean(dim=1, keepdim=True) + self.eps)
        return self.gamma.view(1, -1, 1, 1) * (x * scale) + self.beta.view(1, -1, 1, 1) + x


@MODELS.register_module("LN2d")
class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channel dimension of a 4-d feature map."""

    def __init__(self, num_channels: int, **kwargs):
        super().__init__(num_channels, **kwargs)
        self.num_channels = self.normalized_shape[0]

    def forward(self, x: torch.Tensor, data_format: str = "channel_first") -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"LayerNorm2d takes (N, C, H, W) or (N, H, W, C) tensors, got shape {tuple(x.shape)}")
        check_choice(self, "data_format", data_format, DATA_FORMATS)
        if data_format == "channel_last":
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2).contiguous()


def build_norm_layer(cfg: Mapping, num_features: int) -> nn.Module:
    """The norm layer ``cfg`` names (loomcls' ``LN2d`` included), built for ``num_features``.

    Unlike loomcv's ``build_norm_layer`` it returns only the layer: MMPretrain's
    newer backbones store norms under their own attribute names.
    """
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise TypeError(f"build_norm_layer: cfg must be a dict with a 'type' key such as dict(type='LN2d'), "
                        f"got {cfg!r}")
    args = dict(cfg)
    layer_type = args.pop("type")
    requires_grad = args.pop("requires_grad", True)
    cls = MODELS.get(layer_type) if isinstance(layer_type, str) else layer_type
    if cls is None:
        raise RegistryError(f"build_norm_layer: unknown norm type {layer_type!r} in scope {MODELS.scope!r}")
    layer = cls(num_channels=num_features, **args) if issubclass(cls, nn.GroupNorm) else cls(num_features, **args)
    for param in layer.parameters():
        param.requires_grad = requires_grad
    return layer
