"""Twins (Chu et al., 2021): pyramid vision transformers. PCPVT is PVT with
conditional position encodings (a depthwise conv after each stage's first
layer); its attention is global but over keys/values subsampled by a strided
conv (GSA). SVT alternates locally-grouped attention inside windows (LSA) with
GSA.

Module names follow MMPretrain 1.x (``patch_embeds.i``, ``position_encodings.i.
proj``, ``stages.i.j.{norm1,attn,norm2,ffn}``, ``attn.{q,kv,sr,norm,proj}`` or
``attn.{qkv,proj}``, ``norm_after_stage{i}``) so its checkpoints load unchanged.
"""

import math
from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_norm_layer
from loomcv.model.bricks.transformer import FFN, PatchEmbed, build_dropout
from loomcv.validation import check

from ..utils.arch import drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class ConditionalPositionEncoding(BaseModule):
    """Position from content: a 3x3 depthwise conv of the token map, added to the
    tokens (stride 1) or replacing them (stride > 1)."""

    def __init__(self, in_channels: int, embed_dims: int = 768, stride: int = 1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.proj = nn.Conv2d(in_channels, embed_dims, kernel_size=3, stride=stride, padding=1, bias=True,
                              groups=embed_dims)
        self.stride = stride

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        batch, n, channels = x.shape
        feat = x.transpose(1, 2).reshape(batch, channels, *hw_shape)
        out = self.proj(feat) + feat if self.stride == 1 else self.proj(feat)
        return out.flatten(2).transpose(1, 2)


class GlobalSubsampledAttention(BaseModule):
    """Multi-head attention of every token to keys/values computed from the map
    subsampled by a ``sr_ratio`` strided conv (``sr``) and a norm.

    As MMPretrain, ``dropout_layer`` is applied to the output here and the
    encoder layer applies its own stochastic depth around it as well.
    """

    def __init__(self, embed_dims: int, num_heads: int, norm_cfg: Mapping = dict(type="LN"), qkv_bias: bool = True,
                 sr_ratio: int = 1, attn_drop: float = 0., proj_drop: float = 0.,
                 dropout_layer: Mapping = dict(type="Dropout", drop_prob=0.), qk_scale=None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check(embed_dims % num_heads == 0, self,
              f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale or self.head_dims ** -0.5
        self.qkv_bias, self.sr_ratio = qkv_bias, sr_ratio
        self.q = nn.Linear(embed_dims, embed_dims, bias=qkv_bias)
        self.kv = nn.Linear(embed_dims, embed_dims * 2, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        self.out_drop = build_dropout(dropout_layer)
        if sr_ratio > 1:
            self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=sr_ratio, stride=sr_ratio)
            self.norm = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        batch, n, channels = x.shape
        check(hw_shape[0] * hw_shape[1] == n, self, f"{n} tokens do not form the given {hw_shape} map")
        q = self.q(x).reshape(batch, n, self.num_heads, self.head_dims).transpose(1, 2)
        if self.sr_ratio > 1:
            x = self.sr(x.transpose(1, 2).reshape(batch, channels, *hw_shape))
            x = self.norm(x.reshape(batch, channels, -1).transpose(1, 2))
        kv = self.kv(x).reshape(batch, -1, 2, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, kv[0], kv[1], scale=self.scale,
                                             dropout_p=self.attn_drop if self.training else 0.0)
        out = self.proj(out.transpose(1, 2).reshape(batch, n, channels))
        return self.out_drop(self.proj_drop(out))


class LocallyGroupedSelfAttention(BaseModule):
    """Multi-head attention inside ``window_size`` x ``window_size`` windows; maps the
    windows do not tile are padded bottom-right.

    The padded positions are masked out only when both the height and the width
    were padded: with one side unpadded the mask covers every position and
    cancels out -- the official code's (and MMPretrain's) behaviour, kept so
    that converted models give the same outputs.
    """

    def __init__(self, embed_dims: int, num_heads: int = 8, qkv_bias: bool = False, qk_scale=None,
                 attn_drop_rate: float = 0., proj_drop_rate: float = 0., window_size: int = 1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        check(embed_dims % num_heads == 0, self,
              f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.num_heads, self.window_size = embed_dims, num_heads, window_size
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop_rate
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        batch, n, channels = x.shape
        h, w = hw_shape
        ws = self.window_size
        x = x.view(batch, h, w, channels)
        pad_r, pad_b = (ws - w % ws) % ws, (ws - h % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = x.shape[1:-1]
        gh, gw = hp // ws, wp // ws
        mask = torch.zeros((1, hp, wp), device=x.device)
        mask[:, hp - pad_b if pad_b else 0:, :] = 1  # an empty pad marks everything (see the class doc)
        mask[:, :, wp - pad_r if pad_r else 0:] = 1
        mask = mask.reshape(1, gh, ws, gw, ws).transpose(2, 3).reshape(1, gh * gw, ws * ws)
        attn_mask = mask.unsqueeze(2) - mask.unsqueeze(3)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, -1000.0).masked_fill(attn_mask == 0, 0.0)
        x = x.reshape(batch, gh, ws, gw, ws, channels).transpose(2, 3)
        qkv = self.qkv(x).reshape(batch, gh * gw, ws * ws, 3, self.num_heads, channels // self.num_heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5)  # each (B, windows, heads, ws*ws, d)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask.unsqueeze(2).to(q.dtype),
                                             scale=self.scale, dropout_p=self.attn_drop if self.training else 0.0)
        out = out.transpose(2, 3).reshape(batch, gh, gw, ws, ws, channels).transpose(2, 3)
        out = out.reshape(batch, hp, wp, channels)[:, :h, :w].reshape(batch, n, channels)
        return self.proj_drop(self.proj(out))


class _EncoderLayer(BaseModule):
    """``x + drop_path(attn(norm1(x)))`` then ``x + drop_path(ffn(norm2(x)))``."""

    def _build(self, embed_dims, feedforward_channels, drop_rate, drop_path_rate, num_fcs, act_cfg, norm_cfg):
        self.norm1 = build_norm_layer(norm_cfg, embed_dims, postfix=1)[1]
        self.norm2 = build_norm_layer(norm_cfg, embed_dims, postfix=2)[1]
        self.ffn = FFN(embed_dims, feedforward_channels, num_fcs=num_fcs, ffn_drop=drop_rate,
                       dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate), act_cfg=act_cfg,
                       add_identity=False)
        self.drop_path = build_dropout(dict(type="DropPath", drop_prob=drop_path_rate)) \
            if drop_path_rate > 0. else nn.Identity()

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x), hw_shape))
        return x + self.drop_path(self.ffn(self.norm2(x)))


class GSAEncoderLayer(_EncoderLayer):
    """An encoder layer with global sub-sampled attention."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., num_fcs: int = 2, qkv_bias: bool = True,
                 act_cfg: Mapping = dict(type="GELU"), norm_cfg: Mapping = dict(type="LN"), sr_ratio: int = 1,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self._build(embed_dims, feedforward_channels, drop_rate, drop_path_rate, num_fcs, act_cfg, norm_cfg)
        self.attn = GlobalSubsampledAttention(embed_dims, num_heads, norm_cfg=norm_cfg, qkv_bias=qkv_bias,
                                              sr_ratio=sr_ratio, attn_drop=attn_drop_rate, proj_drop=drop_rate,
                                              dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate))


class LSAEncoderLayer(_EncoderLayer):
    """An encoder layer with locally-grouped attention."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., num_fcs: int = 2, qkv_bias: bool = True,
                 qk_scale=None, act_cfg: Mapping = dict(type="GELU"), norm_cfg: Mapping = dict(type="LN"),
                 window_size: int = 1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self._build(embed_dims, feedforward_channels, drop_rate, drop_path_rate, num_fcs, act_cfg, norm_cfg)
        self.attn = LocallyGroupedSelfAttention(embed_dims, num_heads, qkv_bias, qk_scale, attn_drop_rate,
                                                drop_rate, window_size)


_PCPVT = dict(embed_dims=[64, 128, 320, 512], num_heads=[1, 2, 5, 8], patch_sizes=[4, 2, 2, 2],
              strides=[4, 2, 2, 2], mlp_ratios=[8, 8, 4, 4], sr_ratios=[8, 4, 2, 1])
_SVT = dict(patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2], mlp_ratios=[4, 4, 4, 4], sr_ratios=[8, 4, 2, 1],
            window_sizes=[7, 7, 7, 7])


@MODELS.register_module()
class PCPVT(BaseBackbone):
    """Twins-PCPVT.

    Args:
        arch: 'small', 'base', 'large' (or 's', 'b', 'l'), or a dict with
            exactly the keys of ``essential_keys``, each a list with one value
            per stage.
        out_indices: stages to output as (B, C, H, W) maps.
        qkv_bias / drop_rate / attn_drop_rate / drop_path_rate / norm_cfg: of
            every layer (stochastic depth rising linearly over all layers).
        norm_after_stage: a norm after each stage (a bool for all, or one per stage).
        init_cfg: None uses the official init (truncated normal linears, conv
            fan-out normal); a config list overrides it.
    """

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(_PCPVT, depths=[3, 4, 6, 3])),
        **dict.fromkeys(["b", "base"], dict(_PCPVT, depths=[3, 4, 18, 3])),
        **dict.fromkeys(["l", "large"], dict(_PCPVT, depths=[3, 8, 27, 3])),
    }
    essential_keys = ("embed_dims", "depths", "num_heads", "patch_sizes", "strides", "mlp_ratios", "sr_ratios")

    def __init__(self, arch: Union[str, Mapping], in_channels: int = 3, out_indices: Union[int, Sequence[int]] = (3,),
                 qkv_bias: bool = False, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., norm_cfg: Mapping = dict(type="LN"),
                 norm_after_stage: Union[bool, Sequence[bool]] = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = select_arch(self, arch, self.arch_zoo, self.essential_keys, allow_extra_keys=False)
        for key in ("depths", "embed_dims", "patch_sizes", "strides", "mlp_ratios", "num_heads", "sr_ratios"):
            setattr(self, key, list(self.arch_settings[key]))
        self.num_extra_tokens = 0  # no class token in Twins
        self.num_stage = len(self.depths)
        lengths = {k: len(v) if isinstance(v, (list, tuple)) else None for k, v in self.arch_settings.items()}
        check(self.num_stage > 0 and all(n == self.num_stage for n in lengths.values()), self,
              f"every arch entry needs one value per stage, got lengths {lengths}")
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stage)

        self.patch_embeds, self.position_encoding_drops = nn.ModuleList(), nn.ModuleList()
        for i in range(self.num_stage):
            self.patch_embeds.append(PatchEmbed(
                in_channels=in_channels if i == 0 else self.embed_dims[i - 1], embed_dims=self.embed_dims[i],
                conv_type="Conv2d", kernel_size=self.patch_sizes[i], stride=self.strides[i], padding="corner",
                norm_cfg=dict(type="LN")))
            self.position_encoding_drops.append(nn.Dropout(p=drop_rate))
        self.position_encodings = nn.ModuleList(ConditionalPositionEncoding(d, d) for d in self.embed_dims)
        self.dpr = drop_path_rates(drop_path_rate, sum(self.depths))
        self.stages, first = nn.ModuleList(), 0
        for k, depth in enumerate(self.depths):
            self.stages.append(nn.ModuleList(GSAEncoderLayer(
                self.embed_dims[k], self.num_heads[k], self.mlp_ratios[k] * self.embed_dims[k],
                attn_drop_rate=attn_drop_rate, drop_rate=drop_rate, drop_path_rate=self.dpr[first + i], num_fcs=2,
                qkv_bias=qkv_bias, act_cfg=dict(type="GELU"), norm_cfg=norm_cfg, sr_ratio=self.sr_ratios[k])
                for i in range(depth)))
            first += depth

        if isinstance(norm_after_stage, bool):
            norm_after_stage = [norm_after_stage] * self.num_stage
        check(isinstance(norm_after_stage, (list, tuple)) and len(norm_after_stage) == self.num_stage
              and all(isinstance(v, bool) for v in norm_after_stage), self,
              f"norm_after_stage must be a bool or {self.num_stage} bools, got {norm_after_stage!r}")
        self.norm_after_stage = list(norm_after_stage)
        for i, has_norm in enumerate(self.norm_after_stage):
            norm = build_norm_layer(norm_cfg, self.embed_dims[i])[1] if has_norm and norm_cfg is not None \
                else nn.Identity()
            self.add_module(f"norm_after_stage{i}", norm)
        self.feat_dim = self.embed_dims[self.out_indices[-1]] if self.out_indices else self.embed_dims[-1]

    def init_weights(self):
        if self.init_cfg is not None:
            super().init_weights()
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=.02)
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.)
            elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm)):
                if m.weight is not None:
                    nn.init.constant_(m.weight, 1.0)
                    nn.init.constant_(m.bias, 0.)
            elif isinstance(m, nn.Conv2d):
                fan_out = m.kernel_size[0] * m.kernel_size[1] * m.out_channels // m.groups
                nn.init.normal_(m.weight, mean=0, std=math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    nn.init.constant_(m.bias, 0.)

    def forward(self, x: torch.Tensor):
        outputs = []
        batch = x.shape[0]
        for i in range(self.num_stage):
            x, hw_shape = self.patch_embeds[i](x)
            x = self.position_encoding_drops[i](x)
            for j, block in enumerate(self.stages[i]):
                x = block(x, hw_shape)
                if j == 0:
                    x = self.position_encodings[i](x, hw_shape)
            x = getattr(self, f"norm_after_stage{i}")(x)
            x = x.reshape(batch, *hw_shape, -1).permute(0, 3, 1, 2).contiguous()
            if i in self.out_indices:
                outputs.append(x)
        return tuple(outputs)


@MODELS.register_module()
class SVT(PCPVT):
    """Twins-SVT: PCPVT whose even-numbered layers of each stage use locally-grouped
    attention (``window_sizes``) instead of GSA.

    Args:
        arch: 'small', 'base', 'large' (or 's', 'b', 'l'), or a dict with the
            PCPVT keys plus ``window_sizes``.
        Others: as :class:`PCPVT`.
    """

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(_SVT, embed_dims=[64, 128, 256, 512], depths=[2, 2, 10, 4],
                                             num_heads=[2, 4, 8, 16])),
        **dict.fromkeys(["b", "base"], dict(_SVT, embed_dims=[96, 192, 384, 768], depths=[2, 2, 18, 2],
                                            num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(["l", "large"], dict(_SVT, embed_dims=[128, 256, 512, 1024], depths=[2, 2, 18, 2],
                                             num_heads=[4, 8, 16, 32])),
    }
    essential_keys = PCPVT.essential_keys + ("window_sizes",)

    def __init__(self, arch: Union[str, Mapping], in_channels: int = 3, out_indices: Union[int, Sequence[int]] = (3,),
                 qkv_bias: bool = False, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0.0, norm_cfg: Mapping = dict(type="LN"),
                 norm_after_stage: Union[bool, Sequence[bool]] = False, init_cfg=None):
        super().__init__(arch, in_channels, out_indices, qkv_bias, drop_rate, attn_drop_rate, drop_path_rate,
                         norm_cfg, norm_after_stage, init_cfg)
        self.window_sizes = list(self.arch_settings["window_sizes"])
        for k in range(self.num_stage):
            for i in range(0, self.depths[k], 2):  # even-numbered layers: LSA
                self.stages[k][i] = LSAEncoderLayer(
                    self.embed_dims[k], self.num_heads[k], self.mlp_ratios[k] * self.embed_dims[k],
                    drop_rate=drop_rate, norm_cfg=norm_cfg, attn_drop_rate=attn_drop_rate,
                    drop_path_rate=self.dpr[sum(self.depths[:k]) + i], qkv_bias=qkv_bias,
                    window_size=self.window_sizes[k])
