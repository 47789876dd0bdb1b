"""TinyViT (Wu et al., 2022): a convolutional first stage of MBConv blocks, then
window attention stages with a depthwise "local" conv between attention and MLP;
conv+BN patch embedding and patch merging.

Arch names ('5m', '11m', '21m'), arguments and keys follow MMPretrain 1.x
(``patch_embed.seq``, ``stages.i.blocks.j.{attn,local_conv,mlp}``, ``conv2d``/``bn2d``
pairs, ``attention_biases``, ``norm{i}``), so its converted checkpoints load.
"""

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, activation_checkpoint, build_activation_layer, build_norm_layer

from ..utils.arch import drop_path_rates, select_arch
from ..utils.position_encoding import attention_offset_index
from .base_backbone import BaseBackbone


class ConvBN2d(nn.Sequential):
    """A bias-free conv (``conv2d``) then BatchNorm (``bn2d``, weight initialised to ``bn_weight_init``)."""

    def __init__(self, in_channels, out_channels, kernel_size=1, stride=1, padding=0, dilation=1, groups=1,
                 bn_weight_init=1.0, init_cfg=None):
        super().__init__()
        self.add_module("conv2d", nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                            dilation=dilation, groups=groups, bias=False))
        bn = nn.BatchNorm2d(out_channels)
        nn.init.constant_(bn.weight, bn_weight_init)
        nn.init.constant_(bn.bias, 0)
        self.add_module("bn2d", bn)


class PatchEmbed(BaseModule):
    """Two stride-2 3x3 conv-BN layers (GELU between): 4x downsampling, (B, C, H, W) out."""

    def __init__(self, in_channels, embed_dim, resolution, act_cfg=dict(type="GELU")):
        super().__init__()
        self.patches_resolution = (resolution[0] // 4, resolution[1] // 4)
        self.num_patches = self.patches_resolution[0] * self.patches_resolution[1]
        self.in_channels, self.embed_dim = in_channels, embed_dim
        self.seq = nn.Sequential(ConvBN2d(in_channels, embed_dim // 2, 3, stride=2, padding=1),
                                 build_activation_layer(act_cfg),
                                 ConvBN2d(embed_dim // 2, embed_dim, 3, stride=2, padding=1))

    def forward(self, x):
        return self.seq(x)


class PatchMerging(nn.Module):
    """1x1 conv, stride-2 depthwise 3x3 conv, 1x1 conv (BN after each, GELU between); tokens out."""

    def __init__(self, resolution, in_channels, out_channels, act_cfg=dict(type="GELU")):
        super().__init__()
        self.img_size = resolution
        self.act = build_activation_layer(act_cfg)
        self.conv1 = ConvBN2d(in_channels, out_channels, kernel_size=1)
        self.conv2 = ConvBN2d(out_channels, out_channels, kernel_size=3, stride=2, padding=1, groups=out_channels)
        self.conv3 = ConvBN2d(out_channels, out_channels, kernel_size=1)
        self.out_resolution = (resolution[0] // 2, resolution[1] // 2)

    def forward(self, x):
        if x.dim() == 3:  # tokens (B, H*W, C) -> (B, C, H, W)
            x = x.view(x.shape[0], *self.img_size, -1).permute(0, 3, 1, 2)
        x = self.conv3(self.act(self.conv2(self.act(self.conv1(x)))))
        return x.flatten(2).transpose(1, 2)


class MBConvBlock(nn.Module):
    """Inverted residual: 1x1 expand, depthwise 3x3, 1x1 project (BN weight 0), add, GELU."""

    def __init__(self, in_channels, out_channels, expand_ratio, drop_path, act_cfg=dict(type="GELU")):
        super().__init__()
        self.in_channels = in_channels
        hidden = int(in_channels * expand_ratio)
        self.conv1 = ConvBN2d(in_channels, hidden, kernel_size=1)
        self.act = build_activation_layer(act_cfg)
        self.conv2 = ConvBN2d(hidden, hidden, kernel_size=3, stride=1, padding=1, groups=hidden)
        self.conv3 = ConvBN2d(hidden, out_channels, kernel_size=1, bn_weight_init=0.0)
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()

    def forward(self, x):
        out = self.conv3(self.act(self.conv2(self.act(self.conv1(x)))))
        return self.act(self.drop_path(out) + x)


class LeAttention(BaseModule):
    """Multi-head attention with a pre-norm and a learned bias per head and (|dy|, |dx|) offset
    inside the window (LeViT-style)."""

    def __init__(self, dim, key_dim, num_heads=8, attn_ratio=4, resolution=(14, 14), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not (isinstance(resolution, tuple) and len(resolution) == 2):
            raise ConfigError(f"LeAttention: resolution must be an (H, W) tuple, got {resolution!r}")
        self.num_heads, self.key_dim, self.scale = num_heads, key_dim, key_dim ** -0.5
        self.nh_kd = key_dim * num_heads
        self.d = int(attn_ratio * key_dim)
        self.dh = self.d * num_heads
        self.attn_ratio = attn_ratio
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, self.dh + self.nh_kd * 2)
        self.proj = nn.Linear(self.dh, dim)
        num_offsets, idxs = attention_offset_index(resolution)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, num_offsets))
        # rebuilt from the window size, so not part of the state dict (as TinyViT's)
        self.register_buffer("attention_bias_idxs", idxs, persistent=False)
        self._register_load_state_dict_pre_hook(self._drop_index)

    @staticmethod
    def _drop_index(state_dict, prefix, *args, **kwargs):
        state_dict.pop(prefix + "attention_bias_idxs", None)

    def forward(self, x):
        B, N, _ = x.shape
        q, k, v = self.qkv(self.norm(x)).view(B, N, self.num_heads, -1).split([self.key_dim, self.key_dim, self.d],
                                                                              dim=3)
        q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases[:, self.attention_bias_idxs]
        return self.proj((attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, self.dh))


class MLP(BaseModule):
    """LayerNorm, then Linear-act-dropout-Linear-dropout."""

    def __init__(self, in_channels, hidden_channels=None, out_channels=None, act_cfg=dict(type="GELU"), drop=0.0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        out_channels = out_channels or in_channels
        hidden_channels = hidden_channels or in_channels
        self.norm = nn.LayerNorm(in_channels)
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.fc2 = nn.Linear(hidden_channels, out_channels)
        self.act = build_activation_layer(act_cfg)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(self.norm(x))))))


class TinyViTBlock(BaseModule):
    """Window attention (padded to whole windows) + residual, a depthwise ``local_conv``, MLP + residual."""

    def __init__(self, in_channels, resolution, num_heads, window_size=7, mlp_ratio=4.0, drop=0.0, drop_path=0.0,
                 local_conv_size=3, act_cfg=dict(type="GELU")):
        super().__init__()
        if window_size <= 0 or in_channels % num_heads:
            raise ConfigError(f"TinyViTBlock: window_size must be > 0 and in_channels ({in_channels}) divisible by "
                              f"num_heads ({num_heads})")
        self.in_channels, self.img_size, self.num_heads = in_channels, resolution, num_heads
        self.window_size, self.mlp_ratio = window_size, mlp_ratio
        self.drop_path = DropPath(drop_path) if drop_path > 0.0 else nn.Identity()
        self.attn = LeAttention(in_channels, in_channels // num_heads, num_heads, attn_ratio=1,
                                resolution=(window_size, window_size))
        self.mlp = MLP(in_channels, int(in_channels * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.local_conv = ConvBN2d(in_channels, in_channels, kernel_size=local_conv_size, stride=1,
                                   padding=local_conv_size // 2, groups=in_channels)

    def _windowed_attention(self, x):
        H, W = self.img_size
        B, L, C = x.shape
        win = self.window_size
        if H == win and W == win:
            return self.attn(x)
        x = x.view(B, H, W, C)
        pad_b, pad_r = (win - H % win) % win, (win - W % win) % win
        if pad_b or pad_r:
            x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        ph, pw = H + pad_b, W + pad_r
        nh, nw = ph // win, pw // win
        x = x.view(B, nh, win, nw, win, C).transpose(2, 3).reshape(B * nh * nw, win * win, C)
        x = self.attn(x).view(B, nh, nw, win, win, C).transpose(2, 3).reshape(B, ph, pw, C)
        return x[:, :H, :W].reshape(B, L, C)

    def forward(self, x):
        H, W = self.img_size
        B, L, C = x.shape
        if L != H * W:
            raise ValueError(f"TinyViTBlock: {L} tokens do not form its {H}x{W} map (TinyViT's input size is fixed)")
        x = x + self.drop_path(self._windowed_attention(x))
        x = self.local_conv(x.transpose(1, 2).reshape(B, C, H, W)).view(B, C, L).transpose(1, 2)
        return x + self.drop_path(self.mlp(x))


class _Stage(BaseModule):
    def _finish(self, resolution, in_channels, out_channels, act_cfg, downsample, use_checkpoint):
        self.use_checkpoint = use_checkpoint
        if downsample is not None:
            self.downsample = downsample(resolution=resolution, in_channels=in_channels, out_channels=out_channels,
                                         act_cfg=act_cfg)
            self.resolution = self.downsample.out_resolution
        else:
            self.downsample = None
            self.resolution = resolution

    def forward(self, x):
        for block in self.blocks:
            x = activation_checkpoint(block, x, enabled=self.use_checkpoint)
        return self.downsample(x) if self.downsample is not None else x


class ConvStage(_Stage):
    """MBConv blocks on (B, C, H, W) maps, then an optional PatchMerging (tokens out)."""

    def __init__(self, in_channels, resolution, depth, act_cfg, drop_path=0.0, downsample=None, use_checkpoint=False,
                 out_channels=None, conv_expand_ratio=4.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        rates = drop_path if isinstance(drop_path, list) else [drop_path] * depth
        self.blocks = nn.ModuleList(MBConvBlock(in_channels, in_channels, conv_expand_ratio, rates[i])
                                    for i in range(depth))
        self._finish(resolution, in_channels, out_channels, act_cfg, downsample, use_checkpoint)


class BasicStage(_Stage):
    """TinyViT blocks on tokens, then an optional PatchMerging."""

    def __init__(self, in_channels, resolution, depth, num_heads, window_size, mlp_ratio=4.0, drop=0.0,
                 drop_path=0.0, downsample=None, use_checkpoint=False, local_conv_size=3, out_channels=None,
                 act_cfg=dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        rates = drop_path if isinstance(drop_path, list) else [drop_path] * depth
        self.blocks = nn.ModuleList(
            TinyViTBlock(in_channels, resolution, num_heads, window_size=window_size, mlp_ratio=mlp_ratio, drop=drop,
                         drop_path=rates[i], local_conv_size=local_conv_size, act_cfg=act_cfg)
            for i in range(depth))
        self._finish(resolution, in_channels, out_channels, act_cfg, downsample, use_checkpoint)


@MODELS.register_module()
class TinyViT(BaseBackbone):
    """TinyViT.

    Args:
        arch: '5m', '11m', '21m' or a dict of per-stage lists channels, num_heads, depths.
        img_size / window_size: the input size (fixed) and one window size per stage.
        out_indices: stages whose output (after its patch merging) is returned; with
            ``gap_before_final_norm`` each is the pooled (B, C) vector, else a (B, C, H, W) map.
        frozen_stages: the first n stages are frozen (0, the default, freezes nothing).
    """

    arch_settings = {
        "5m": dict(channels=[64, 128, 160, 320], num_heads=[2, 4, 5, 10], depths=[2, 2, 6, 2]),
        "11m": dict(channels=[64, 128, 256, 448], num_heads=[2, 4, 8, 14], depths=[2, 2, 6, 2]),
        "21m": dict(channels=[96, 192, 384, 576], num_heads=[3, 6, 12, 18], depths=[2, 2, 6, 2]),
    }
    essential_keys = ("channels", "num_heads", "depths")

    def __init__(self, arch="5m", img_size=(224, 224), window_size=[7, 7, 14, 7], in_channels=3, mlp_ratio=4.0,
                 drop_rate=0.0, drop_path_rate=0.1, use_checkpoint=False, mbconv_expand_ratio=4.0, local_conv_size=3,
                 layer_lr_decay=1.0, out_indices=-1, frozen_stages=0, gap_before_final_norm=True,
                 act_cfg=dict(type="GELU"), norm_cfg=dict(type="LN"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        arch = select_arch(name, arch, self.arch_settings, self.essential_keys)
        self.channels, self.num_heads, self.depths = arch["channels"], arch["num_heads"], arch["depths"]
        self.num_stages = len(self.channels)
        img_size = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
        if not isinstance(window_size, Sequence) or len(window_size) != self.num_stages:
            raise ConfigError(f"{name}: window_size needs one value per stage ({self.num_stages}), got {window_size!r}")
        self.widow_sizes, self.img_size = list(window_size), img_size  # (sic) MMPretrain's attribute name
        out_indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        self.out_indices = [i % 4 if i < 0 else i for i in out_indices]
        if any(not 0 <= i < self.num_stages for i in self.out_indices):
            raise ValueError(f"{name}: out_indices {out_indices} out of range for {self.num_stages} stages")
        if frozen_stages not in range(0, self.num_stages + 1):
            raise ValueError(f"{name}: frozen_stages must be in 0..{self.num_stages}, got {frozen_stages!r}")
        self.frozen_stages, self.gap_before_final_norm = frozen_stages, gap_before_final_norm
        self.layer_lr_decay = layer_lr_decay
        self.patch_embed = PatchEmbed(in_channels, self.channels[0], img_size, act_cfg=dict(type="GELU"))
        res = self.patch_embed.patches_resolution
        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.stages = nn.ModuleList()
        for i in range(self.num_stages):
            resolution = (res[0] // 2 ** i, res[1] // 2 ** i)
            stage_rates = rates[sum(self.depths[:i]):sum(self.depths[:i + 1])]
            downsample = PatchMerging if i < self.num_stages - 1 else None
            out_channels = self.channels[min(i + 1, self.num_stages - 1)]
            if i == 0:
                stage = ConvStage(self.channels[0], resolution, self.depths[0], act_cfg, drop_path=stage_rates,
                                  downsample=downsample, use_checkpoint=use_checkpoint, out_channels=out_channels,
                                  conv_expand_ratio=mbconv_expand_ratio)
            else:
                stage = BasicStage(self.channels[i], resolution, self.depths[i], self.num_heads[i],
                                   self.widow_sizes[i], mlp_ratio=mlp_ratio, drop=drop_rate, drop_path=stage_rates,
                                   downsample=downsample, use_checkpoint=use_checkpoint,
                                   local_conv_size=local_conv_size, out_channels=out_channels, act_cfg=act_cfg)
            self.stages.append(stage)
            if i in self.out_indices:
                self.add_module(f"norm{i}", build_norm_layer(norm_cfg, out_channels)[1])
        self._freeze_stages()

    def forward(self, x):
        x = self.patch_embed(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean(1)))
                else:
                    out = norm(x)
                    outs.append(out.view(out.shape[0], *stage.resolution, out.shape[-1]).permute(0, 3, 1, 2))
        return tuple(outs)

    def frozen_modules(self):
        return list(self.stages[:self.frozen_stages])
