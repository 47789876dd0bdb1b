"""SwiGLU feed-forward layers (Shazeer, 2020): ``w3(silu(x W1) * (x W2))``, with the two input
projections stored as one ``w12`` Linear, as in MMPretrain (DINOv2's giant ViT, EVA-02)."""

from typing import Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.model.bricks import LayerScale, build_dropout, build_norm_layer


class SwiGLUFFN(nn.Module):
    """Args:
        embed_dims / feedforward_channels / out_dims: input, hidden and output widths
            (hidden and output default to ``embed_dims``).
        layer_scale_init_value: > 0 adds a LayerScale ``gamma2`` (key ``gamma2.weight``).
        norm_cfg: a norm on the hidden features (EVA-02's ``sub_ln``).
        add_identity: add the input (or ``identity``) to the output when widths allow.
    """

    def __init__(self, embed_dims: int, feedforward_channels: Optional[int] = None, out_dims: Optional[int] = None,
                 layer_scale_init_value: float = 0.0, bias: bool = True, dropout_layer: Optional[Mapping] = None,
                 norm_cfg: Optional[Mapping] = None, add_identity: bool = True):
        super().__init__()
        self.embed_dims = embed_dims
        self.out_dims = out_dims or embed_dims
        hidden = feedforward_channels or embed_dims
        self.w12 = nn.Linear(embed_dims, 2 * hidden, bias=bias)
        self.norm = build_norm_layer(norm_cfg, hidden)[1] if norm_cfg is not None else nn.Identity()
        self.w3 = nn.Linear(hidden, self.out_dims, bias=bias)
        self.gamma2 = LayerScale(embed_dims, layer_scale_init_value) if layer_scale_init_value > 0 \
            else nn.Identity()
        self.dropout_layer = build_dropout(dropout_layer) if dropout_layer else nn.Identity()
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        x1, x2 = self.w12(x).chunk(2, dim=-1)
        out = self.dropout_layer(self.gamma2(self.w3(self.norm(F.silu(x1) * x2))))
        if self.out_dims != self.embed_dims or not self.add_identity:
            return out
        return (x if identity is None else identity) + out


class SwiGLUFFNFused(SwiGLUFFN):
    """SwiGLUFFN whose hidden width is 2/3 of ``feedforward_channels`` rounded up to a multiple of 8
    (same cost as a GELU MLP of that width), as DINOv2 builds it."""

    def __init__(self, embed_dims: int, feedforward_channels: Optional[int] = None, out_dims: Optional[int] = None,
                 layer_scale_init_value: float = 0.0, bias: bool = True):
        hidden = feedforward_channels or embed_dims
        hidden = (int(hidden * 2 / 3) + 7) // 8 * 8
        super().__init__(embed_dims, hidden, out_dims or embed_dims, layer_scale_init_value, bias)
