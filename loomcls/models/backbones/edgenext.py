"""EdgeNeXt (Maaz et al., 2022): ConvNeXt stages whose last block(s) are SDTA
encoders -- split depth-wise convs over channel groups, then transposed
("channel") self-attention, then an inverted bottleneck.

Module names follow MMPretrain 1.x (``downsample_layers``, ``stages.N.M`` with
ConvNeXt blocks or ``SDTAEncoder``s: ``conv_modules``, ``pos_embed.proj``,
``norm_csa``, ``gamma_csa``, ``csa.{scale,qkv,proj}``, ``norm``,
``pointwise_conv{1,2}``, ``gamma``; ``norm{i}`` per output) so its checkpoints load.
"""

import math
from typing import Mapping, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_activation_layer
from loomcv.validation import check, check_choice

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from ..utils.norm import build_norm_layer
from .base_backbone import BaseBackbone
from .convnext import ConvNeXtBlock


class ChannelMultiheadAttention(BaseModule):
    """Self-attention across channels ("transposed" attention): per head, the
    (head_dims x head_dims) map of L2-normalized queries and keys over the
    tokens, times a learned per-head temperature ``scale``."""

    def __init__(self, embed_dims, num_heads=8, input_dims=None, attn_drop=0., proj_drop=0., qkv_bias=False,
                 proj_bias=True, qk_scale_type="learnable", qk_scale=None, v_shortcut=False, init_cfg=None):
        super().__init__(init_cfg)
        check_choice(self, "qk_scale_type", qk_scale_type, ("learnable", "fixed", "none"))
        if embed_dims % num_heads:
            raise ValueError(f"ChannelMultiheadAttention: embed_dims ({embed_dims}) must be divisible by "
                             f"num_heads ({num_heads})")
        self.input_dims, self.embed_dims = input_dims or embed_dims, embed_dims
        self.num_heads, self.head_dims, self.v_shortcut = num_heads, embed_dims // num_heads, v_shortcut
        if qk_scale_type == "learnable":
            self.scale = nn.Parameter(torch.ones(num_heads, 1, 1))
        elif qk_scale_type == "fixed":
            self.scale = self.head_dims ** -0.5
        else:
            if qk_scale is None:
                raise ValueError("ChannelMultiheadAttention: qk_scale_type='none' needs a qk_scale number")
            self.scale = qk_scale
        self.qkv = nn.Linear(self.input_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        qkv = self.qkv(x).reshape(batch, tokens, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 4, 1)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, head_dims, N)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attn = self.attn_drop(((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1))
        out = (attn @ v).permute(0, 3, 1, 2).reshape(batch, tokens, self.embed_dims)
        out = self.proj_drop(self.proj(out))
        if self.v_shortcut:
            out = v.permute(0, 3, 1, 2).reshape(batch, tokens, self.embed_dims) + out
        return out


class PositionEncodingFourier(BaseModule):
    """Sine/cosine encodings of the normalized (y, x) positions, projected by a 1x1
    conv (``proj``) to ``embed_dims``: ``forward((B, H, W))`` -> (B, embed_dims, H, W)."""

    def __init__(self, in_channels=32, embed_dims=768, temperature=10000, dtype=torch.float32, init_cfg=None):
        super().__init__(init_cfg)
        self.proj = nn.Conv2d(in_channels * 2, embed_dims, kernel_size=1)
        self.scale = 2 * math.pi
        self.in_channels, self.embed_dims, self.dtype = in_channels, embed_dims, dtype
        self.temperature = temperature

    def forward(self, bhw_shape: Tuple[int, int, int]) -> torch.Tensor:
        batch, h, w = bhw_shape
        device = self.proj.weight.device
        eps = 1e-6
        ones = torch.ones(batch, h, w, dtype=self.dtype, device=device)
        y_embed, x_embed = ones.cumsum(1), ones.cumsum(2)
        y_embed = y_embed / (y_embed[:, -1:, :] + eps) * self.scale
        x_embed = x_embed / (x_embed[:, :, -1:] + eps) * self.scale
        dim_t = torch.arange(self.in_channels, dtype=self.dtype, device=device)
        dim_t = self.temperature ** (2 * torch.div(dim_t, 2, rounding_mode="floor") / self.in_channels)
        pos_x, pos_y = x_embed[..., None] / dim_t, y_embed[..., None] / dim_t
        pos_x = torch.stack((pos_x[..., 0::2].sin(), pos_x[..., 1::2].cos()), dim=4).flatten(3)
        pos_y = torch.stack((pos_y[..., 0::2].sin(), pos_y[..., 1::2].cos()), dim=4).flatten(3)
        return self.proj(torch.cat((pos_y, pos_x), dim=3).permute(0, 3, 1, 2))


class SDTAEncoder(BaseModule):
    """Split depth-wise transpose attention: the channels are cut into ``scales``
    groups; each of the first ``scales - 1`` goes through a 3x3 depthwise conv
    after adding the previous group's output (a hierarchy of receptive fields),
    the last passes as is; then channel attention and an inverted bottleneck,
    each residual with layer scale."""

    def __init__(self, in_channel, drop_path_rate=0., layer_scale_init_value=1e-6, mlp_ratio=4, use_pos_emb=True,
                 num_heads=8, qkv_bias=True, attn_drop=0., proj_drop=0., norm_cfg=dict(type="LN"),
                 act_cfg=dict(type="GELU"), scales=1, init_cfg=None):
        super().__init__(init_cfg)
        if scales < 2:
            raise ValueError(f"SDTAEncoder: scales must be >= 2 (one channel group passes untouched), got {scales}")
        if layer_scale_init_value <= 0:
            raise ValueError(f"SDTAEncoder: layer_scale_init_value must be > 0, got {layer_scale_init_value}")
        self.conv_channels = int(math.ceil(in_channel / scales))
        self.num_convs = scales - 1
        self.conv_modules = nn.ModuleList([nn.Conv2d(self.conv_channels, self.conv_channels, kernel_size=3,
                                                     padding=1, groups=self.conv_channels)
                                           for _ in range(self.num_convs)])
        self.pos_embed = PositionEncodingFourier(embed_dims=in_channel) if use_pos_emb else None
        self.norm_csa = build_norm_layer(norm_cfg, in_channel)
        self.gamma_csa = nn.Parameter(layer_scale_init_value * torch.ones(in_channel))
        self.csa = ChannelMultiheadAttention(embed_dims=in_channel, num_heads=num_heads, qkv_bias=qkv_bias,
                                             attn_drop=attn_drop, proj_drop=proj_drop)
        self.norm = build_norm_layer(norm_cfg, in_channel)
        self.pointwise_conv1 = nn.Linear(in_channel, mlp_ratio * in_channel)
        self.act = build_activation_layer(act_cfg)
        self.pointwise_conv2 = nn.Linear(mlp_ratio * in_channel, in_channel)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(in_channel))
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        groups = torch.split(x, self.conv_channels, dim=1)
        outs, previous = [], None
        for i, conv in enumerate(self.conv_modules):
            previous = conv(groups[i] if previous is None else previous + groups[i])
            outs.append(previous)
        x = torch.cat(outs + [groups[self.num_convs]], 1)

        batch, channels, h, w = x.shape
        x = x.reshape(batch, channels, h * w).permute(0, 2, 1)  # B, N, C
        if self.pos_embed is not None:
            x = x + self.pos_embed((batch, h, w)).reshape(batch, channels, h * w).permute(0, 2, 1)
        x = x + self.drop_path(self.gamma_csa * self.csa(self.norm_csa(x)))
        x = x.reshape(batch, h, w, channels)
        x = self.gamma * self.pointwise_conv2(self.act(self.pointwise_conv1(self.norm(x))))
        return shortcut + self.drop_path(x.permute(0, 3, 1, 2))


@MODELS.register_module()
class EdgeNeXt(BaseBackbone):
    """EdgeNeXt.

    Args:
        arch: 'xxsmall', 'xsmall', 'small', 'base' or a dict with exactly
            ``channels``, ``depths`` and ``num_heads``.
        global_blocks: how many of each stage's last blocks are SDTA encoders.
        global_block_type: 'None' or 'SDTA' per stage.
        conv_kernel_sizes: the depthwise kernel of each stage's ConvNeXt blocks.
        use_pos_embd_csa: a Fourier position encoding in each stage's SDTA blocks.
        use_pos_embd_global: one added after the first stage.
        d2_scales: the channel groups of each stage's SDTA blocks.
        out_indices / frozen_stages / gap_before_final_norm: as ConvNeXt (the
            pooled outputs use a plain LayerNorm ``norm{i}``).
    """

    arch_settings = {
        "xxsmall": dict(channels=[24, 48, 88, 168], depths=[2, 2, 6, 2], num_heads=[4, 4, 4, 4]),
        "xsmall": dict(channels=[32, 64, 100, 192], depths=[3, 3, 9, 3], num_heads=[4, 4, 4, 4]),
        "small": dict(channels=[48, 96, 160, 304], depths=[3, 3, 9, 3], num_heads=[8, 8, 8, 8]),
        "base": dict(channels=[80, 160, 288, 584], depths=[3, 3, 9, 3], num_heads=[8, 8, 8, 8]),
    }

    def __init__(self, arch: Union[str, Mapping] = "xxsmall", in_channels=3, global_blocks=(0, 1, 1, 1),
                 global_block_type=("None", "SDTA", "SDTA", "SDTA"), drop_path_rate=0., layer_scale_init_value=1e-6,
                 linear_pw_conv=True, mlp_ratio=4, conv_kernel_sizes=(3, 5, 7, 9),
                 use_pos_embd_csa=(False, True, False, False), use_pos_embd_global=False, d2_scales=(2, 2, 3, 4),
                 norm_cfg=dict(type="LN2d", eps=1e-6), out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages=0, gap_before_final_norm=True, act_cfg=dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_settings, ("channels", "depths", "num_heads"),
                               allow_extra_keys=False)
        self.channels, self.depths = list(settings["channels"]), list(settings["depths"])
        self.num_heads = list(settings["num_heads"])
        self.num_stages = len(self.depths)
        for name, value in (("global_blocks", global_blocks), ("global_block_type", global_block_type),
                            ("conv_kernel_sizes", conv_kernel_sizes), ("use_pos_embd_csa", use_pos_embd_csa),
                            ("d2_scales", d2_scales), ("channels", self.channels), ("num_heads", self.num_heads)):
            check(len(value) == self.num_stages, self, f"{name} needs one entry per stage ({self.num_stages}), "
                                                       f"got {list(value)}")
        for block_type in global_block_type:
            check_choice(self, "global_block_type entries", block_type, ("None", "SDTA"))
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stages)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_stages)
        self.gap_before_final_norm = gap_before_final_norm
        self.pos_embed = PositionEncodingFourier(embed_dims=self.channels[0]) if use_pos_embd_global else None

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv2d(in_channels, self.channels[0], kernel_size=4, stride=4),
            build_norm_layer(norm_cfg, self.channels[0]))])
        self.stages = nn.ModuleList()
        first = 0
        for i, (depth, channels) in enumerate(zip(self.depths, self.channels)):
            if i > 0:
                self.downsample_layers.append(nn.Sequential(
                    build_norm_layer(norm_cfg, self.channels[i - 1]),
                    nn.Conv2d(self.channels[i - 1], channels, kernel_size=2, stride=2)))
            blocks = []
            for j in range(depth):
                if j > depth - global_blocks[i] - 1:
                    blocks.append(SDTAEncoder(channels, drop_path_rate=rates[first + j], mlp_ratio=mlp_ratio,
                                              scales=d2_scales[i], use_pos_emb=use_pos_embd_csa[i],
                                              num_heads=self.num_heads[i]))
                else:
                    blocks.append(ConvNeXtBlock(
                        channels, dw_conv_cfg=dict(kernel_size=conv_kernel_sizes[i],
                                                   padding=conv_kernel_sizes[i] // 2),
                        norm_cfg=norm_cfg, act_cfg=act_cfg, linear_pw_conv=linear_pw_conv,
                        drop_path_rate=rates[first + j], layer_scale_init_value=layer_scale_init_value))
            first += depth
            self.stages.append(nn.Sequential(*blocks))
            if i in self.out_indices:
                out_norm = dict(type="LN") if gap_before_final_norm else norm_cfg
                self.add_module(f"norm{i}", build_norm_layer(out_norm, channels))
        self.feat_dim = self.channels[self.out_indices[-1]] if self.out_indices else self.channels[-1]
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(self.downsample_layers[i](x))
            if self.pos_embed is not None and i == 0:
                batch, _, h, w = x.shape
                x = x + self.pos_embed((batch, h, w))
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean([-2, -1])))
                else:
                    outs.append(norm(x).contiguous())
        return tuple(outs)

    def frozen_modules(self):
        count = max(self.frozen_stages, 0)
        return [*self.downsample_layers[:count], *self.stages[:count]]
