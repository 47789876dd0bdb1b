"""XCiT (El-Nouby et al., 2021): cross-covariance image transformers. Attention
runs across channels (a d x d map from l2-normalised queries and keys, scaled
by a learned temperature), so its cost is linear in the number of tokens; a
local patch interaction (two depthwise 3x3 convs) lets neighbouring tokens talk;
two class-attention layers (CaiT) then read the class token out.

Module names follow MMPretrain 1.x (``patch_embed.proj``, ``pos_embed.
token_projection``, ``xca_layers.i.{norm1,attn,norm3,local_mp,norm2,ffn,gamma1..3}``,
``ca_layers.i``, ``norm``) so its checkpoints load unchanged.
"""

import math
import warnings
from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, DropPath, build_norm_layer
from loomcv.model.bricks.transformer import FFN, to_2tuple
from loomcv.validation import check, check_choice

from ..utils.arch import normalize_out_indices
from .base_backbone import BaseBackbone


class ClassAttention(BaseModule):
    """Attention of the class token (the only query) to all tokens; returns the
    class token's update, (B, 1, C)."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.,
                 proj_drop: float = 0., init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check(dim % num_heads == 0, self, f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.scale = (dim // num_heads) ** -0.5
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.k = nn.Linear(dim, dim, bias=qkv_bias)
        self.v = nn.Linear(dim, dim, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, channels = x.shape
        heads = (batch, -1, self.num_heads, channels // self.num_heads)
        q = self.q(x[:, :1]).reshape(heads).transpose(1, 2)
        k = self.k(x).reshape(heads).transpose(1, 2)
        v = self.v(x).reshape(heads).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v, scale=self.scale,
                                             dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(batch, 1, channels)))


ClassAttntion = ClassAttention  # MMPretrain's spelling


class PositionalEncodingFourier(BaseModule):
    """Sine/cosine features of each position's normalised (y, x) coordinates
    (``hidden_dim`` each), projected to ``dim`` channels by a 1x1 conv."""

    def __init__(self, hidden_dim: int = 32, dim: int = 768, temperature: int = 10000, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.token_projection = ConvModule(hidden_dim * 2, dim, 1, conv_cfg=None, norm_cfg=None, act_cfg=None)
        self.scale, self.temperature = 2 * math.pi, temperature
        self.hidden_dim, self.dim, self.eps = hidden_dim, dim, 1e-6

    def forward(self, batch: int, h: int, w: int) -> torch.Tensor:
        device = self.token_projection.conv.weight.device
        y_embed = torch.arange(1, h + 1, device=device).float()[None, :, None].expand(1, h, w)
        x_embed = torch.arange(1, w + 1, device=device).float()[None, None, :].expand(1, h, w)
        y_embed = y_embed / (h + self.eps) * self.scale  # the last row/column is h / w
        x_embed = x_embed / (w + self.eps) * self.scale
        dim_t = torch.arange(self.hidden_dim, device=device).float()
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.hidden_dim)
        pos_x, pos_y = x_embed[..., None] / dim_t, y_embed[..., None] / dim_t
        pos_x = torch.stack([pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()], dim=4).flatten(3)
        pos_y = torch.stack([pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()], dim=4).flatten(3)
        pos = self.token_projection(torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2))
        return pos.repeat(batch, 1, 1, 1)  # (B, C, H, W)


class ConvPatchEmbed(BaseModule):
    """Patches from stride-2 3x3 conv-BN(-GELU) layers: four for 16x16 patches,
    three for 8x8, widening to ``embed_dims`` (the last without activation)."""

    def __init__(self, img_size=224, patch_size: int = 16, in_channels: int = 3, embed_dims: int = 768,
                 norm_cfg: Mapping = dict(type="BN"), act_cfg: Mapping = dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check_choice(self, "patch_size", patch_size, (8, 16))
        img_size = to_2tuple(img_size)
        self.img_size, self.patch_size = img_size, patch_size
        self.num_patches = (img_size[1] // patch_size) * (img_size[0] // patch_size)
        widths = [in_channels] + ([embed_dims // 8] if patch_size == 16 else []) + \
            [embed_dims // 4, embed_dims // 2, embed_dims]
        self.proj = nn.Sequential(*[
            ConvModule(cin, cout, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                       act_cfg=act_cfg if i < len(widths) - 2 else None)
            for i, (cin, cout) in enumerate(zip(widths[:-1], widths[1:]))])

    def forward(self, x: torch.Tensor):
        x = self.proj(x)
        return x.flatten(2).transpose(1, 2), (x.shape[2], x.shape[3])


class ClassAttentionBlock(BaseModule):
    """A class-attention layer: only the class token is updated by the attention
    and the FFN (layer scales ``gamma1``/``gamma2``); ``tokens_norm`` normalises
    all tokens after the attention instead of just the class token."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4., qkv_bias: bool = False, drop=0.,
                 attn_drop=0., drop_path=0., layer_scale_init_value=1., tokens_norm: bool = False,
                 norm_cfg: Mapping = dict(type="LN", eps=1e-6), act_cfg: Mapping = dict(type="GELU"),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.attn = ClassAttention(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop,
                                   proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.ffn = FFN(dim, int(dim * mlp_ratio), act_cfg=act_cfg, ffn_drop=drop)
        if layer_scale_init_value > 0:
            self.gamma1 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
            self.gamma2 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        else:
            self.gamma1, self.gamma2 = 1.0, 1.0
        self.tokens_norm = tokens_norm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_norm1 = self.norm1(x)
        x = x + self.drop_path(self.gamma1 * torch.cat([self.attn(x_norm1), x_norm1[:, 1:]], dim=1))
        x = self.norm2(x) if self.tokens_norm else torch.cat([self.norm2(x[:, :1]), x[:, 1:]], dim=1)
        cls_token = self.gamma2 * self.ffn(x[:, :1], identity=0)
        return x + self.drop_path(torch.cat([cls_token, x[:, 1:]], dim=1))


class LPI(BaseModule):
    """Local patch interaction: depthwise 3x3 conv, GELU, BN, depthwise 3x3 conv on
    the token map."""

    def __init__(self, in_features: int, out_features=None, kernel_size: int = 3,
                 norm_cfg: Mapping = dict(type="BN"), act_cfg: Mapping = dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        out_features = out_features or in_features
        padding = kernel_size // 2
        with warnings.catch_warnings():  # the activation sits between the conv and the BN: its bias matters
            warnings.filterwarnings("ignore", message=".*conv bias before batch")
            self.conv1 = ConvModule(in_features, in_features, kernel_size, padding=padding, groups=in_features,
                                    bias=True, norm_cfg=norm_cfg, act_cfg=act_cfg, order=("conv", "act", "norm"))
        self.conv2 = ConvModule(in_features, out_features, kernel_size, padding=padding, groups=out_features,
                                norm_cfg=None, act_cfg=None)

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        batch, n, channels = x.shape
        x = self.conv2(self.conv1(x.transpose(1, 2).reshape(batch, channels, h, w)))
        return x.reshape(batch, -1, n).transpose(1, 2)


class XCA(BaseModule):
    """Cross-covariance attention: per head, softmax(temperature * q_n k_n^T) over
    the channels (q, k l2-normalised along the tokens) mixes the value channels."""

    def __init__(self, dim: int, num_heads: int = 8, qkv_bias: bool = False, attn_drop: float = 0.,
                 proj_drop: float = 0., init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check(dim % num_heads == 0, self, f"dim ({dim}) must be divisible by num_heads ({num_heads})")
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, channels = x.shape
        # (3, B, heads, channels per head, N)
        q, k, v = self.qkv(x).reshape(batch, n, 3, self.num_heads, channels // self.num_heads).permute(2, 0, 3, 4, 1)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * self.temperature).softmax(dim=-1))
        out = (attn @ v).permute(0, 3, 1, 2).reshape(batch, n, channels)
        return self.proj_drop(self.proj(out))


class XCABlock(BaseModule):
    """XCA, then LPI, then the FFN, each pre-normed and scaled (``gamma1``,
    ``gamma3``, ``gamma2`` -- the official order)."""

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4., qkv_bias: bool = False, drop: float = 0.,
                 attn_drop: float = 0., drop_path: float = 0., layer_scale_init_value: float = 1.,
                 bn_norm_cfg: Mapping = dict(type="BN"), norm_cfg: Mapping = dict(type="LN", eps=1e-6),
                 act_cfg: Mapping = dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.attn = XCA(dim, num_heads=num_heads, qkv_bias=qkv_bias, attn_drop=attn_drop, proj_drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.norm3 = build_norm_layer(norm_cfg, dim)[1]
        self.local_mp = LPI(dim, norm_cfg=bn_norm_cfg, act_cfg=act_cfg)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.ffn = FFN(dim, int(dim * mlp_ratio), act_cfg=act_cfg, ffn_drop=drop)
        self.gamma1 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.gamma3 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.gamma2 = nn.Parameter(layer_scale_init_value * torch.ones(dim))

    def forward(self, x: torch.Tensor, h: int, w: int) -> torch.Tensor:
        x = x + self.drop_path(self.gamma1 * self.attn(self.norm1(x)))
        x = x + self.drop_path(self.gamma3 * self.local_mp(self.norm3(x), h, w))
        return x + self.drop_path(self.gamma2 * self.ffn(self.norm2(x), identity=0))


@MODELS.register_module()
class XCiT(BaseBackbone):
    """XCiT.

    Args:
        img_size: a multiple of ``patch_size`` (8 or 16).
        embed_dims / depth / num_heads / mlp_ratio / qkv_bias: of the XCA layers
            (and the ``cls_attn_layers`` class-attention layers after them).
        drop_rate / attn_drop_rate / drop_path_rate: dropouts; as MMPretrain,
            every XCA layer uses the same ``drop_path_rate`` and the
            class-attention layers none.
        use_pos_embed: add the Fourier position encoding.
        layer_scale_init_value / tokens_norm: as the paper's eta and CaiT's
            token norm.
        out_type: 'cls_token' (B, C), 'featmap' (B, C, H, W), 'avg_featmap' or
            'raw'; the class token only exists in the class-attention layers.
        out_indices: layers 0..depth + cls_attn_layers - 1 (-1 is the last).
        final_norm: a norm after the last class-attention layer.
        frozen_stages: MMPretrain's counting: 0 freezes the patch and position
            embeddings, n > 0 also the first n - 1 layers (the class token once
            the class-attention layers are reached, the final norm at
            ``frozen_stages == depth + cls_attn_layers``).
    """

    OUT_TYPES = ("raw", "featmap", "avg_featmap", "cls_token")

    def __init__(self, img_size=224, patch_size: int = 16, in_channels: int = 3, embed_dims: int = 768,
                 depth: int = 12, cls_attn_layers: int = 2, num_heads: int = 12, mlp_ratio: float = 4.,
                 qkv_bias: bool = True, drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0.,
                 use_pos_embed: bool = True, layer_scale_init_value: float = 1., tokens_norm: bool = False,
                 out_type: str = "cls_token", out_indices: Union[int, Sequence[int]] = (-1,), final_norm: bool = True,
                 frozen_stages: int = -1, bn_norm_cfg: Mapping = dict(type="BN"),
                 norm_cfg: Mapping = dict(type="LN", eps=1e-6), act_cfg: Mapping = dict(type="GELU"),
                 init_cfg=dict(type="TruncNormal", layer="Linear")):
        super().__init__(init_cfg=init_cfg)
        img_size = to_2tuple(img_size)
        check(img_size[0] % patch_size == 0 and img_size[1] % patch_size == 0, self,
              f"patch_size ({patch_size}) must divide img_size {img_size}")
        check_choice(self, "out_type", out_type, self.OUT_TYPES)
        self.embed_dims, self.out_type = embed_dims, out_type
        self.patch_embed = ConvPatchEmbed(img_size=img_size, patch_size=patch_size, in_channels=in_channels,
                                          embed_dims=embed_dims, norm_cfg=bn_norm_cfg, act_cfg=act_cfg)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.use_pos_embed = use_pos_embed
        if use_pos_embed:
            self.pos_embed = PositionalEncodingFourier(dim=embed_dims)
        self.pos_drop = nn.Dropout(p=drop_rate)
        self.num_layers = depth + cls_attn_layers
        self.xca_layers = nn.ModuleList(XCABlock(
            embed_dims, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate, attn_drop=attn_drop_rate,
            drop_path=drop_path_rate, bn_norm_cfg=bn_norm_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
            layer_scale_init_value=layer_scale_init_value) for _ in range(depth))
        self.ca_layers = nn.ModuleList(ClassAttentionBlock(
            embed_dims, num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias, drop=drop_rate, attn_drop=attn_drop_rate,
            act_cfg=act_cfg, norm_cfg=norm_cfg, layer_scale_init_value=layer_scale_init_value,
            tokens_norm=tokens_norm) for _ in range(cls_attn_layers))
        self.final_norm = final_norm
        if final_norm:
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]
        self.out_indices = normalize_out_indices(self, out_indices, self.num_layers)
        bad = [i for i in self.out_indices if i < depth and out_type == "cls_token"]
        check(not bad, self, f"out_indices {bad} are XCA layers, which have no class token; use "
                             f"out_type='featmap' or indices >= depth ({depth})")
        check(isinstance(frozen_stages, int) and -1 <= frozen_stages <= self.num_layers + 1, self,
              f"frozen_stages must be in -1..{self.num_layers + 1}, got {frozen_stages!r}")
        self.frozen_stages = frozen_stages
        self.feat_dim = embed_dims
        self._freeze_stages()

    def init_weights(self):
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            return  # the checkpoint's values stay
        nn.init.trunc_normal_(self.cls_token, std=.02)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.patch_embed, self.pos_drop] + ([self.pos_embed] if self.use_pos_embed else [])
        layers = [*self.xca_layers, *self.ca_layers]
        modules += layers[:max(self.frozen_stages - 1, 0)]
        if self.frozen_stages == len(layers) and self.final_norm:
            modules.append(self.norm)
        return modules

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages > len(self.xca_layers):
            self.cls_token.requires_grad = False

    def forward(self, x: torch.Tensor):
        outs = []
        batch = x.shape[0]
        x, (hp, wp) = self.patch_embed(x)
        if self.use_pos_embed:
            x = x + self.pos_embed(batch, hp, wp).reshape(batch, -1, x.size(1)).transpose(1, 2)
        x = self.pos_drop(x)
        for i, layer in enumerate(self.xca_layers):
            x = layer(x, hp, wp)
            if i in self.out_indices:
                outs.append(self._format_output(x, (hp, wp), False))
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1)
        for i, layer in enumerate(self.ca_layers):
            x = layer(x)
            if i == len(self.ca_layers) - 1 and self.final_norm:
                x = self.norm(x)
            if i + len(self.xca_layers) in self.out_indices:
                outs.append(self._format_output(x, (hp, wp), True))
        return tuple(outs)

    def _format_output(self, x, hw, with_cls_token: bool):
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        patch_token = x[:, 1:] if with_cls_token else x
        if self.out_type == "featmap":
            return patch_token.reshape(x.size(0), *hw, -1).permute(0, 3, 1, 2)
        return patch_token.mean(dim=1)
