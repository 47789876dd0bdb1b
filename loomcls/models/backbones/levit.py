"""LeViT (Graham et al., 2021): a convolutional stem, then attention stages on a
shrinking token grid, with BN after every linear layer so that inference can
fold them away.

Arch names ('128s', '128', '192', '256', '384'), arguments and module names
(``patch_embed.patch_embed.N.{conv,bn}``, ``stages.i.j.block.{qkv,proj,linear1,linear2}``
as ``{linear,bn}`` pairs, ``attention_biases``/``attention_bias_idxs``,
``kv``/``q`` in the subsampling attention) follow MMPretrain 1.x, so its
checkpoints load; after :meth:`LeViT.switch_to_deploy` each pair is one
``nn.Linear``/``nn.Conv2d`` with a bias, as in MMPretrain's deploy checkpoints.
"""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_activation_layer, build_norm_layer

from ..utils.arch import normalize_out_indices, select_arch
from ..utils.position_encoding import attention_offset_index
from ..utils.reparam import fuse_conv_bn
from .base_backbone import BaseBackbone


class ConvolutionBatchNorm(BaseModule):
    """A bias-free conv followed by BN; ``fuse()`` returns the equivalent conv with bias."""

    def __init__(self, in_channel, out_channel, kernel_size=3, stride=2, pad=1, dilation=1, groups=1,
                 norm_cfg=dict(type="BN")):
        super().__init__()
        self.conv = nn.Conv2d(in_channel, out_channel, kernel_size, stride=stride, padding=pad, dilation=dilation,
                              groups=groups, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channel)[1]

    def forward(self, x):
        return self.bn(self.conv(x))

    @torch.no_grad()
    def fuse(self) -> nn.Conv2d:
        weight, bias = fuse_conv_bn(self.conv.weight, self.bn)
        c = self.conv
        fused = nn.Conv2d(c.in_channels, c.out_channels, c.kernel_size, stride=c.stride, padding=c.padding,
                          dilation=c.dilation, groups=c.groups, bias=True).to(weight.device, weight.dtype)
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
        return fused


class LinearBatchNorm(BaseModule):
    """A bias-free linear layer followed by BN over every token; ``fuse()`` returns one linear layer."""

    def __init__(self, in_feature, out_feature, norm_cfg=dict(type="BN1d")):
        super().__init__()
        self.linear = nn.Linear(in_feature, out_feature, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_feature)[1]

    def forward(self, x):
        x = self.linear(x)
        return self.bn(x.flatten(0, 1)).reshape_as(x)

    @torch.no_grad()
    def fuse(self) -> nn.Linear:
        weight, bias = fuse_conv_bn(self.linear.weight, self.bn)
        fused = nn.Linear(self.linear.in_features, self.linear.out_features).to(weight.device, weight.dtype)
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
        return fused


class HybridBackbone(BaseModule):
    """Four stride-2 3x3 conv-BN layers (activations between them): 16x downsampling to ``embed_dim``."""

    def __init__(self, embed_dim, kernel_size=3, stride=2, pad=1, dilation=1, groups=1,
                 act_cfg=dict(type="HSwish"), conv_cfg=None, norm_cfg=dict(type="BN"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        ins = [3, embed_dim // 8, embed_dim // 4, embed_dim // 2]
        outs = [embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim]
        self.patch_embed = nn.Sequential()
        for i, (cin, cout) in enumerate(zip(ins, outs)):
            self.patch_embed.add_module(str(2 * i), ConvolutionBatchNorm(
                cin, cout, kernel_size=kernel_size, stride=stride, pad=pad, dilation=dilation, groups=groups,
                norm_cfg=norm_cfg))
            if i < len(ins) - 1:
                self.patch_embed.add_module(str(2 * i + 1), build_activation_layer(act_cfg))

    def forward(self, x):
        return self.patch_embed(x)


class Residual(BaseModule):
    def __init__(self, block, drop_path_rate=0.0):
        super().__init__()
        self.block = block
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def forward(self, x):
        return x + self.drop_path(self.block(x))


class Attention(BaseModule):
    """Multi-head attention with a learned bias per head and relative offset."""

    def __init__(self, dim, key_dim, num_heads=8, attn_ratio=4, act_cfg=dict(type="HSwish"), resolution=14):
        super().__init__()
        self.num_heads, self.key_dim, self.scale = num_heads, key_dim, key_dim ** -0.5
        self.nh_kd = key_dim * num_heads
        self.d = int(attn_ratio * key_dim)
        self.dh = self.d * num_heads
        self.attn_ratio = attn_ratio
        self.qkv = LinearBatchNorm(dim, self.dh + self.nh_kd * 2)
        self.proj = nn.Sequential(build_activation_layer(act_cfg), LinearBatchNorm(self.dh, dim))
        num_offsets, idxs = attention_offset_index((resolution, resolution))
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, num_offsets))
        self.register_buffer("attention_bias_idxs", idxs)

    def forward(self, x):
        B, N, _ = x.shape
        q, k, v = self.qkv(x).view(B, N, self.num_heads, -1).split([self.key_dim, self.key_dim, self.d], dim=3)
        q, k, v = q.permute(0, 2, 1, 3), k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases[:, self.attention_bias_idxs]
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, N, self.dh)
        return self.proj(x)


class MLP(nn.Sequential):
    def __init__(self, embed_dim, mlp_ratio, act_cfg=dict(type="HSwish")):
        super().__init__()
        hidden = embed_dim * mlp_ratio
        self.linear1 = LinearBatchNorm(embed_dim, hidden)
        self.activation = build_activation_layer(act_cfg)
        self.linear2 = LinearBatchNorm(hidden, embed_dim)


class Subsample(BaseModule):
    """Keep every ``stride``-th token of the square grid in both directions."""

    def __init__(self, stride, resolution):
        super().__init__()
        self.stride, self.resolution = stride, resolution

    def forward(self, x):
        B, _, C = x.shape
        x = x.view(B, self.resolution, self.resolution, C)[:, ::self.stride, ::self.stride]
        return x.reshape(B, -1, C)


class AttentionSubsample(nn.Sequential):
    """Attention whose queries come from a subsampled grid: halves the resolution between stages."""

    def __init__(self, in_dim, out_dim, key_dim, num_heads=8, attn_ratio=2, act_cfg=dict(type="HSwish"), stride=2,
                 resolution=14):
        super().__init__()
        self.num_heads, self.key_dim, self.scale = num_heads, key_dim, key_dim ** -0.5
        self.nh_kd = key_dim * num_heads
        self.d = int(attn_ratio * key_dim)
        self.dh = self.d * num_heads
        self.attn_ratio, self.stride, self.resolution = attn_ratio, stride, resolution
        self.sub_resolution = (resolution - 1) // stride + 1
        self.kv = LinearBatchNorm(in_dim, self.dh + self.nh_kd)
        self.q = nn.Sequential(Subsample(stride, resolution), LinearBatchNorm(in_dim, self.nh_kd))
        self.proj = nn.Sequential(build_activation_layer(act_cfg), LinearBatchNorm(self.dh, out_dim))
        num_offsets, idxs = attention_offset_index((resolution, resolution),
                                                   (self.sub_resolution, self.sub_resolution), stride)
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, num_offsets))
        self.register_buffer("attention_bias_idxs", idxs)

    def forward(self, x):
        B, N, _ = x.shape
        k, v = self.kv(x).view(B, N, self.num_heads, -1).split([self.key_dim, self.d], dim=3)
        k, v = k.permute(0, 2, 1, 3), v.permute(0, 2, 1, 3)
        q = self.q(x).view(B, self.sub_resolution ** 2, self.num_heads, self.key_dim).permute(0, 2, 1, 3)
        attn = (q @ k.transpose(-2, -1)) * self.scale + self.attention_biases[:, self.attention_bias_idxs]
        x = (attn.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, -1, self.dh)
        return self.proj(x)


def fuse_parameters(module: nn.Module) -> None:
    """Replace every child that has ``fuse()`` by what it returns (recursively)."""
    for name, child in module.named_children():
        if hasattr(child, "fuse"):
            setattr(module, name, child.fuse())
        else:
            fuse_parameters(child)


@MODELS.register_module()
class LeViT(BaseBackbone):
    """LeViT.

    Args:
        arch: '128s', '128', '192', '256', '384' or a dict of per-stage lists
            embed_dims, key_dims, num_heads, depths.
        img_size / patch_size: the input size is fixed (attention biases are per grid offset).
        attn_ratio / mlp_ratio: value width and MLP width as multiples of key_dim / embed_dim.
        out_indices: stages to return, as (B, C, H, W) maps.
        deploy: fold every BN into its linear/conv layer right away.
        drop_path_rate: the same stochastic depth rate for every residual block.
    """

    arch_zoo = {
        "128s": dict(embed_dims=[128, 256, 384], num_heads=[4, 6, 8], depths=[2, 3, 4], key_dims=[16, 16, 16]),
        "128": dict(embed_dims=[128, 256, 384], num_heads=[4, 8, 12], depths=[4, 4, 4], key_dims=[16, 16, 16]),
        "192": dict(embed_dims=[192, 288, 384], num_heads=[3, 5, 6], depths=[4, 4, 4], key_dims=[32, 32, 32]),
        "256": dict(embed_dims=[256, 384, 512], num_heads=[4, 6, 8], depths=[4, 4, 4], key_dims=[32, 32, 32]),
        "384": dict(embed_dims=[384, 512, 768], num_heads=[6, 9, 12], depths=[4, 4, 4], key_dims=[32, 32, 32]),
    }
    essential_keys = ("embed_dims", "key_dims", "num_heads", "depths")

    def __init__(self, arch, img_size=224, patch_size=16, attn_ratio=2, mlp_ratio=2, act_cfg=dict(type="HSwish"),
                 hybrid_backbone=HybridBackbone, out_indices=-1, deploy=False, drop_path_rate=0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.arch = select_arch(name, str(arch) if isinstance(arch, int) else arch, self.arch_zoo,
                                self.essential_keys, allow_extra_keys=False)
        self.embed_dims, self.num_heads = self.arch["embed_dims"], self.arch["num_heads"]
        self.key_dims, self.depths = self.arch["key_dims"], self.arch["depths"]
        self.num_stages = len(self.embed_dims)
        if not len(self.key_dims) == len(self.num_heads) == len(self.depths) == self.num_stages:
            raise ConfigError(f"{name}: embed_dims, key_dims, num_heads and depths need one entry per stage, "
                              f"got {self.arch}")
        if img_size % patch_size:
            raise ConfigError(f"{name}: img_size {img_size} must be a multiple of patch_size {patch_size}")
        self.drop_path_rate = drop_path_rate
        self.patch_embed = hybrid_backbone(self.embed_dims[0])
        self.resolutions = []
        resolution = img_size // patch_size
        self.stages = nn.ModuleList()
        for i, (dims, key_dim, depth, heads) in enumerate(zip(self.embed_dims, self.key_dims, self.depths,
                                                              self.num_heads)):
            blocks = []
            if i > 0:
                down = AttentionSubsample(self.embed_dims[i - 1], dims, key_dim,
                                          num_heads=self.embed_dims[i - 1] // key_dim, attn_ratio=4,
                                          act_cfg=act_cfg, stride=2, resolution=resolution)
                blocks.append(down)
                resolution = down.sub_resolution
                if mlp_ratio > 0:
                    blocks.append(Residual(MLP(dims, mlp_ratio, act_cfg=act_cfg), drop_path_rate))
            self.resolutions.append(resolution)
            for _ in range(depth):
                blocks.append(Residual(Attention(dims, key_dim, heads, attn_ratio=attn_ratio, act_cfg=act_cfg,
                                                 resolution=resolution), drop_path_rate))
                if mlp_ratio > 0:
                    blocks.append(Residual(MLP(dims, mlp_ratio, act_cfg=act_cfg), drop_path_rate))
            self.stages.append(nn.Sequential(*blocks))
        self.out_indices = normalize_out_indices(name, out_indices, self.num_stages)
        self.deploy = False
        if deploy:
            self.switch_to_deploy()

    def switch_to_deploy(self):
        """Fold every BN into the linear or conv layer before it (eval-mode statistics)."""
        if self.deploy:
            return
        fuse_parameters(self)
        self.deploy = True

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)  # (B, C, H, W) -> (B, L, C)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                B, _, C = x.shape
                outs.append(x.reshape(B, self.resolutions[i], self.resolutions[i], C).permute(0, 3, 1, 2)
                            .contiguous())
        return tuple(outs)
