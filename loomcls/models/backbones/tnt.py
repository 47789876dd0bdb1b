"""Transformer in Transformer (Han et al., 2021): every 16x16 patch is itself a
sequence of "pixel" tokens (4x4 sub-patches after a stride-4 conv) that an inner
transformer mixes; their flattened result is added to the patch token that an
outer transformer, a ViT, then mixes with the other patches.

Module names follow MMPretrain 1.x, whose blocks use MMCV's MultiheadAttention
around ``torch.nn.MultiheadAttention`` (``attn.attn.in_proj_weight``,
``attn.attn.out_proj``; no ``in_proj_bias`` without qkv bias), so its
checkpoints load unchanged.
"""

import math
from typing import Mapping, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_norm_layer
from loomcv.model.bricks.transformer import FFN, build_dropout, to_2tuple
from loomcv.validation import check

from ..utils.arch import drop_path_rates, select_arch
from .base_backbone import BaseBackbone


class TorchMultiheadAttention(BaseModule):
    """MMCV's attention wrapper: ``torch.nn.MultiheadAttention`` (as ``attn``) on
    batch-first tokens, output dropout, then ``dropout_layer`` and the identity
    added back."""

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0., proj_drop: float = 0.,
                 dropout_layer: Mapping = dict(type="Dropout", drop_prob=0.), qkv_bias: bool = True, init_cfg=None):
        super().__init__(init_cfg)
        check(embed_dims % num_heads == 0, self,
              f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=attn_drop, batch_first=True)
        if not qkv_bias:
            self.attn.in_proj_bias = None  # as MMPretrain: no bias entry in the state dict
        self.proj_drop = nn.Dropout(proj_drop)
        self.dropout_layer = build_dropout(dropout_layer)

    def forward(self, x: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        out = self.attn(x, x, x, need_weights=False)[0]
        return identity + self.dropout_layer(self.proj_drop(out))


class TransformerBlock(BaseModule):
    """A pre-norm transformer block (``norm_attn`` -> attention, ``norm_ffn`` -> FFN)."""

    def __init__(self, embed_dims: int, num_heads: int, ffn_ratio: int = 4, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., num_fcs: int = 2, qkv_bias: bool = False,
                 act_cfg: Mapping = dict(type="GELU"), norm_cfg: Mapping = dict(type="LN"), batch_first: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check(batch_first, self, "only batch_first=True (tokens as (B, N, C)) is supported")
        drop_path = dict(type="DropPath", drop_prob=drop_path_rate)
        self.norm_attn = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = TorchMultiheadAttention(embed_dims, num_heads, attn_drop=attn_drop_rate, proj_drop=drop_rate,
                                            dropout_layer=drop_path, qkv_bias=qkv_bias)
        self.norm_ffn = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(embed_dims, embed_dims * ffn_ratio, num_fcs=num_fcs, ffn_drop=drop_rate,
                       dropout_layer=drop_path, act_cfg=act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.norm_attn(x), identity=x)
        return self.ffn(self.norm_ffn(x), identity=x)


class TnTLayer(BaseModule):
    """Inner block over the pixel tokens of each patch, their normed concatenation
    projected onto the patch tokens (the class token excepted), outer block over
    the patch tokens."""

    def __init__(self, num_pixel: int, embed_dims_inner: int, embed_dims_outer: int, num_heads_inner: int,
                 num_heads_outer: int, inner_block_cfg: Mapping = dict(), outer_block_cfg: Mapping = dict(),
                 norm_cfg: Mapping = dict(type="LN"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.inner_block = TransformerBlock(embed_dims_inner, num_heads_inner, **inner_block_cfg)
        self.norm_proj = build_norm_layer(norm_cfg, embed_dims_inner)[1]
        self.projection = nn.Linear(embed_dims_inner * num_pixel, embed_dims_outer, bias=True)
        self.outer_block = TransformerBlock(embed_dims_outer, num_heads_outer, **outer_block_cfg)

    def forward(self, pixel_embed: torch.Tensor, patch_embed: torch.Tensor):
        pixel_embed = self.inner_block(pixel_embed)
        batch, n, _ = patch_embed.shape
        added = self.projection(self.norm_proj(pixel_embed).reshape(batch, n - 1, -1))
        patch_embed = torch.cat([patch_embed[:, :1], patch_embed[:, 1:] + added], dim=1)
        return pixel_embed, self.outer_block(patch_embed)


class PixelEmbed(BaseModule):
    """Image -> pixel tokens: a 7x7 conv with ``stride``, cut into the
    ``patch_size / stride`` sub-grid of every patch, plus ``pixel_pos``."""

    def __init__(self, img_size=224, patch_size=16, in_channels: int = 3, embed_dims_inner: int = 48,
                 stride: int = 4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        img_size, patch_size = to_2tuple(img_size), to_2tuple(patch_size)
        self.img_size = img_size
        self.num_patches = (img_size[0] // patch_size[0]) * (img_size[1] // patch_size[1])
        self.embed_dims_inner = embed_dims_inner
        self.new_patch_size = [math.ceil(ps / stride) for ps in patch_size]
        self.proj = nn.Conv2d(in_channels, embed_dims_inner, kernel_size=7, padding=3, stride=stride)
        self.unfold = nn.Unfold(kernel_size=self.new_patch_size, stride=self.new_patch_size)

    def forward(self, x: torch.Tensor, pixel_pos: torch.Tensor) -> torch.Tensor:
        batch, _, h, w = x.shape
        if (h, w) != tuple(self.img_size):
            raise ValueError(f"PixelEmbed: the input is {h}x{w}, but the model was built for "
                             f"{self.img_size[0]}x{self.img_size[1]} (set img_size)")
        x = self.unfold(self.proj(x)).transpose(1, 2)
        x = x.reshape(batch * self.num_patches, self.embed_dims_inner, *self.new_patch_size) + pixel_pos
        return x.reshape(batch * self.num_patches, self.embed_dims_inner, -1).transpose(1, 2)


@MODELS.register_module()
class TNT(BaseBackbone):
    """Transformer in Transformer.

    Args:
        arch: 'small' or 'base' (or 's', 'b'), or a dict with exactly
            ``embed_dims_outer``, ``embed_dims_inner``, ``num_layers``,
            ``num_heads_outer`` and ``num_heads_inner``.
        img_size: the input size (fixed: the position embeddings are not resized).
        patch_size / first_stride: outer patches and the stride of the pixel conv
            (pixel tokens per patch: ``(patch_size / first_stride) ** 2``).
        ffn_ratio / qkv_bias / drop_rate / attn_drop_rate / drop_path_rate /
            act_cfg / norm_cfg / num_fcs: of both transformer blocks of every layer.

    The output is the normed class token, ``(B, embed_dims_outer)``.
    """

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(embed_dims_outer=384, embed_dims_inner=24, num_layers=12,
                                             num_heads_outer=6, num_heads_inner=4)),
        **dict.fromkeys(["b", "base"], dict(embed_dims_outer=640, embed_dims_inner=40, num_layers=12,
                                            num_heads_outer=10, num_heads_inner=4)),
    }

    def __init__(self, arch: Union[str, Mapping] = "b", img_size=224, patch_size=16, in_channels: int = 3,
                 ffn_ratio: int = 4, qkv_bias: bool = False, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., act_cfg: Mapping = dict(type="GELU"),
                 norm_cfg: Mapping = dict(type="LN"), first_stride: int = 4, num_fcs: int = 2,
                 init_cfg=(dict(type="TruncNormal", layer="Linear", std=.02),
                           dict(type="Constant", layer="LayerNorm", val=1., bias=0.))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        settings = select_arch(self, arch, self.arch_zoo, ("embed_dims_outer", "embed_dims_inner", "num_layers",
                                                           "num_heads_outer", "num_heads_inner"),
                               allow_extra_keys=False)
        self.arch_settings = settings
        self.embed_dims_inner, self.embed_dims_outer = settings["embed_dims_inner"], settings["embed_dims_outer"]
        self.embed_dims = self.feat_dim = self.embed_dims_outer
        self.num_layers = settings["num_layers"]
        self.num_heads_inner, self.num_heads_outer = settings["num_heads_inner"], settings["num_heads_outer"]
        self.pixel_embed = PixelEmbed(img_size=img_size, patch_size=patch_size, in_channels=in_channels,
                                      embed_dims_inner=self.embed_dims_inner, stride=first_stride)
        self.num_patches = num_patches = self.pixel_embed.num_patches
        new_patch_size = self.pixel_embed.new_patch_size
        num_pixel = new_patch_size[0] * new_patch_size[1]
        self.norm1_proj = build_norm_layer(norm_cfg, num_pixel * self.embed_dims_inner)[1]
        self.projection = nn.Linear(num_pixel * self.embed_dims_inner, self.embed_dims_outer)
        self.norm2_proj = build_norm_layer(norm_cfg, self.embed_dims_outer)[1]
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims_outer))
        self.patch_pos = nn.Parameter(torch.zeros(1, num_patches + 1, self.embed_dims_outer))
        self.pixel_pos = nn.Parameter(torch.zeros(1, self.embed_dims_inner, *new_patch_size))
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        rates = drop_path_rates(drop_path_rate, self.num_layers)
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            block_cfg = dict(ffn_ratio=ffn_ratio, drop_rate=drop_rate, attn_drop_rate=attn_drop_rate,
                             drop_path_rate=rates[i], num_fcs=num_fcs, qkv_bias=qkv_bias, act_cfg=act_cfg,
                             norm_cfg=norm_cfg, batch_first=True)
            self.layers.append(TnTLayer(num_pixel, self.embed_dims_inner, self.embed_dims_outer,
                                        self.num_heads_inner, self.num_heads_outer, inner_block_cfg=block_cfg,
                                        outer_block_cfg=block_cfg, norm_cfg=norm_cfg))
        self.norm = build_norm_layer(norm_cfg, self.embed_dims_outer)[1]
        for param in (self.cls_token, self.patch_pos, self.pixel_pos):
            nn.init.trunc_normal_(param, std=.02)

    def forward(self, x: torch.Tensor):
        batch = x.shape[0]
        pixel_embed = self.pixel_embed(x, self.pixel_pos)
        patch_embed = self.norm2_proj(self.projection(self.norm1_proj(pixel_embed.reshape(batch, self.num_patches,
                                                                                          -1))))
        patch_embed = torch.cat((self.cls_token.expand(batch, -1, -1), patch_embed), dim=1) + self.patch_pos
        patch_embed = self.drop_after_pos(patch_embed)
        for layer in self.layers:
            pixel_embed, patch_embed = layer(pixel_embed, patch_embed)
        return (self.norm(patch_embed)[:, 0],)
