"""EfficientFormer (Li et al., 2022): a MetaFormer tuned for mobile latency -- a
conv stem, PoolFormer-style 4-d blocks (pooling token mixer, conv MLP with BN)
in all stages, and in the last stage ``vit_num`` 3-d blocks (multi-head
attention with a learned bias per relative offset) on the flattened tokens.

Module names follow MMPretrain 1.x (``patch_embed``, ``network.i.j.{token_mixer,
mlp,ls1,ls2,norm1,norm2}``, ``norm{i}``, the ``attention_bias_idxs`` buffer) so
its checkpoints load unchanged.
"""

import itertools
import warnings
from typing import Mapping, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, DropPath, build_activation_layer, build_norm_layer
from loomcv.model.bricks.transformer import LayerScale
from loomcv.validation import check

from ..utils.arch import select_arch
from .base_backbone import BaseBackbone
from .poolformer import Pooling


class AttentionWithBias(BaseModule):
    """Multi-head attention whose logits get a learned bias per head and per
    relative offset ``(|dy|, |dx|)`` on the ``resolution`` x ``resolution`` grid.

    The keys and queries are ``key_dim`` wide, the values ``attn_ratio`` times that.
    """

    def __init__(self, embed_dims: int, num_heads: int = 8, key_dim: int = 32, attn_ratio: float = 4.,
                 resolution: int = 7, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.num_heads, self.key_dim, self.attn_ratio = num_heads, key_dim, attn_ratio
        self.scale = key_dim ** -0.5
        self.nh_kd = key_dim * num_heads
        self.d = int(attn_ratio * key_dim)
        self.dh = self.d * num_heads
        self.qkv = nn.Linear(embed_dims, self.dh + self.nh_kd * 2)
        self.proj = nn.Linear(self.dh, embed_dims)
        points = list(itertools.product(range(resolution), range(resolution)))
        offsets, idxs = {}, []
        for p1 in points:
            for p2 in points:
                offset = (abs(p1[0] - p2[0]), abs(p1[1] - p2[1]))
                idxs.append(offsets.setdefault(offset, len(offsets)))
        self.attention_biases = nn.Parameter(torch.zeros(num_heads, len(offsets)))
        self.register_buffer("attention_bias_idxs",
                             torch.tensor(idxs, dtype=torch.long, device="cpu").view(len(points), len(points))
                             .to(torch.empty(0).device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, _ = x.shape
        qkv = self.qkv(x).reshape(batch, n, self.num_heads, -1).permute(0, 2, 1, 3)
        q, k, v = qkv.split([self.key_dim, self.key_dim, self.d], dim=-1)
        bias = self.attention_biases[:, self.attention_bias_idxs]
        check(bias.shape[-1] == n, self, f"the attention bias covers {bias.shape[-1]} tokens, got {n} (the last "
                                         "stage must be resolution x resolution)")
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=self.scale)
        return self.proj(out.transpose(1, 2).reshape(batch, n, self.dh))


class Flat(nn.Module):
    """(B, C, H, W) -> (B, H*W, C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(2).transpose(1, 2)


class LinearMlp(BaseModule):
    """Linear -> act -> dropout -> Linear -> dropout on (B, N, C) tokens."""

    def __init__(self, in_features: int, hidden_features: Optional[int] = None, out_features: Optional[int] = None,
                 act_cfg: Mapping = dict(type="GELU"), drop: float = 0., init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        out_features, hidden_features = out_features or in_features, hidden_features or in_features
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = build_activation_layer(act_cfg)
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden_features, out_features)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))


class ConvMlp(BaseModule):
    """1x1 conv -> BN -> act -> dropout -> 1x1 conv -> BN -> dropout on (B, C, H, W) maps."""

    def __init__(self, in_features: int, hidden_features: Optional[int] = None, out_features: Optional[int] = None,
                 norm_cfg: Mapping = dict(type="BN"), act_cfg: Mapping = dict(type="GELU"), drop: float = 0.,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        out_features, hidden_features = out_features or in_features, hidden_features or in_features
        self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden_features, out_features, 1)
        self.norm1 = build_norm_layer(norm_cfg, hidden_features)[1]
        self.norm2 = build_norm_layer(norm_cfg, out_features)[1]
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.norm1(self.fc1(x))))
        return self.drop(self.norm2(self.fc2(x)))


class Meta3D(BaseModule):
    """A transformer block on (B, N, C) tokens: LN -> attention with bias, LN ->
    MLP, both layer-scaled."""

    def __init__(self, dim: int, mlp_ratio: float = 4., norm_cfg: Mapping = dict(type="LN"),
                 act_cfg: Mapping = dict(type="GELU"), drop: float = 0., drop_path: float = 0.,
                 use_layer_scale: bool = True, init_cfg=None, resolution: int = 7):
        super().__init__(init_cfg=init_cfg)
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.token_mixer = AttentionWithBias(dim, resolution=resolution)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = LinearMlp(dim, int(dim * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        if use_layer_scale:
            self.ls1, self.ls2 = LayerScale(dim), LayerScale(dim)
        else:
            self.ls1, self.ls2 = nn.Identity(), nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.ls1(self.token_mixer(self.norm1(x))))
        return x + self.drop_path(self.ls2(self.mlp(self.norm2(x))))


class Meta4D(BaseModule):
    """A PoolFormer block on (B, C, H, W) maps (no norm before the pooling; the
    conv MLP has its own BNs), both branches layer-scaled."""

    def __init__(self, dim: int, pool_size: int = 3, mlp_ratio: float = 4., act_cfg: Mapping = dict(type="GELU"),
                 drop: float = 0., drop_path: float = 0., use_layer_scale: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.token_mixer = Pooling(pool_size=pool_size)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        if use_layer_scale:
            self.ls1 = LayerScale(dim, data_format="channels_first")
            self.ls2 = LayerScale(dim, data_format="channels_first")
        else:
            self.ls1, self.ls2 = nn.Identity(), nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.ls1(self.token_mixer(x)))
        return x + self.drop_path(self.ls2(self.mlp(x)))


def basic_blocks(in_channels, out_channels, index, layers, pool_size=3, mlp_ratio=4., act_cfg=dict(type="GELU"),
                 drop_rate=.0, drop_path_rate=0., use_layer_scale=True, vit_num=1, has_downsamper=False,
                 resolution=7):
    """The blocks of stage ``index``: an optional stride-2 conv-BN downsampling, 4-d
    blocks, and in the last stage a ``Flat`` before its last ``vit_num`` (3-d) blocks."""
    blocks = []
    if has_downsamper:
        with warnings.catch_warnings():  # the published models keep this conv's bias before the BN
            warnings.filterwarnings("ignore", message=".*conv bias before batch")
            blocks.append(ConvModule(in_channels, out_channels, 3, stride=2, padding=1, bias=True,
                                     norm_cfg=dict(type="BN"), act_cfg=None))
    last = index == len(layers) - 1
    if last and vit_num == layers[index]:
        blocks.append(Flat())
    for block_idx in range(layers[index]):
        block_dpr = drop_path_rate * (block_idx + sum(layers[:index])) / max(sum(layers) - 1, 1)
        if last and layers[index] - block_idx <= vit_num:
            blocks.append(Meta3D(out_channels, mlp_ratio=mlp_ratio, act_cfg=act_cfg, drop=drop_rate,
                                 drop_path=block_dpr, use_layer_scale=use_layer_scale, resolution=resolution))
        else:
            blocks.append(Meta4D(out_channels, pool_size=pool_size, act_cfg=act_cfg, drop=drop_rate,
                                 drop_path=block_dpr, use_layer_scale=use_layer_scale))
            if last and layers[index] - block_idx - 1 == vit_num:
                blocks.append(Flat())
    return nn.Sequential(*blocks)


@MODELS.register_module()
class EfficientFormer(BaseBackbone):
    """EfficientFormer.

    Args:
        arch: 'l1', 'l3', 'l7', or a dict with exactly ``layers``, ``embed_dims``,
            ``downsamples`` (one per stage) and ``vit_num``.
        pool_size / mlp_ratios: of the 4-d blocks (and the MLP ratio of all).
        reshape_last_feat: return the last stage as (B, C, H, W) (for dense
            tasks); by default it stays (B, C, N) when it ends in 3-d blocks
            (classification uses ``GlobalAveragePooling(dim=1)``).
        out_indices: stages to output (-1: the last); each with a norm (GN with
            one group, or LN for the token output).
        frozen_stages: -1 freezes nothing; n >= 0 freezes the stem and stages
            ``0..n-1`` with their output norms.
        drop_rate / drop_path_rate / use_layer_scale: of every block.
        resolution: the token grid of the 3-d blocks (7 for 224-px inputs).
    """

    arch_settings = {
        "l1": dict(layers=[3, 2, 6, 4], embed_dims=[48, 96, 224, 448], downsamples=[False, True, True, True],
                   vit_num=1),
        "l3": dict(layers=[4, 4, 12, 6], embed_dims=[64, 128, 320, 512], downsamples=[False, True, True, True],
                   vit_num=4),
        "l7": dict(layers=[6, 6, 18, 8], embed_dims=[96, 192, 384, 768], downsamples=[False, True, True, True],
                   vit_num=8),
    }

    def __init__(self, arch: Union[str, Mapping] = "l1", in_channels: int = 3, pool_size: int = 3,
                 mlp_ratios: float = 4, reshape_last_feat: bool = False, out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = -1, act_cfg: Mapping = dict(type="GELU"), drop_rate: float = 0.,
                 drop_path_rate: float = 0., use_layer_scale: bool = True, init_cfg=None, resolution: int = 7):
        super().__init__(init_cfg=init_cfg)
        self.num_extra_tokens = 0  # no class or distillation token
        settings = select_arch(self, arch, self.arch_settings, ("layers", "embed_dims", "downsamples", "vit_num"),
                               allow_extra_keys=False)
        self.layers, self.embed_dims = list(settings["layers"]), list(settings["embed_dims"])
        self.downsamples, self.vit_num = list(settings["downsamples"]), settings["vit_num"]
        check(len(self.layers) == len(self.embed_dims) == len(self.downsamples) == 4, self,
              f"arch layers, embed_dims and downsamples need one entry per stage (4), got {self.layers}, "
              f"{self.embed_dims}, {self.downsamples}")
        check(isinstance(self.vit_num, int) and 0 <= self.vit_num <= self.layers[-1], self,
              f"arch vit_num must be an int in 0..{self.layers[-1]} (the last stage's depth), got {self.vit_num!r}")
        self.reshape_last_feat = reshape_last_feat
        half = self.embed_dims[0] // 2
        with warnings.catch_warnings():  # the published stem keeps its conv biases before the BNs
            warnings.filterwarnings("ignore", message=".*conv bias before batch")
            self.patch_embed = nn.Sequential(
                ConvModule(in_channels, half, 3, stride=2, padding=1, bias=True, norm_cfg=dict(type="BN"),
                           inplace=True),
                ConvModule(half, self.embed_dims[0], 3, stride=2, padding=1, bias=True, norm_cfg=dict(type="BN"),
                           inplace=True))
        self.network = nn.ModuleList(basic_blocks(
            self.embed_dims[i - 1] if i else self.embed_dims[0], self.embed_dims[i], i, self.layers,
            pool_size=pool_size, mlp_ratio=mlp_ratios, act_cfg=act_cfg, drop_rate=drop_rate,
            drop_path_rate=drop_path_rate, vit_num=self.vit_num, use_layer_scale=use_layer_scale,
            has_downsamper=self.downsamples[i], resolution=resolution) for i in range(4))
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        for i, index in enumerate(indices):
            check(isinstance(index, int) and -4 <= index < 4, self,
                  f"out_indices entry {index!r} is out of range for 4 stages (0..3 or -4..-1)")
            indices[i] = index % 4
        self.out_indices = indices
        for i in self.out_indices:
            token_out = i == 3 and self.vit_num > 0 and not reshape_last_feat
            norm = dict(type="LN") if token_out else dict(type="GN", num_groups=1)  # GN(1): a channel-first LN
            self.add_module(f"norm{i}", build_norm_layer(norm, self.embed_dims[i])[1])
        check(frozen_stages in range(-1, 5), self, f"frozen_stages must be in -1..4, got {frozen_stages!r}")
        self.frozen_stages = frozen_stages
        self.feat_dim = self.embed_dims[self.out_indices[-1]] if self.out_indices else self.embed_dims[-1]
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        x = self.patch_embed(x)
        outs = []
        for idx, block in enumerate(self.network):
            if idx == len(self.network) - 1:
                batch, _, h, w = x.shape
                if self.downsamples[idx]:
                    h, w = h // 2, w // 2
            x = block(x)
            if idx in self.out_indices:
                norm = getattr(self, f"norm{idx}")
                if idx == len(self.network) - 1 and x.dim() == 3:  # tokens from the 3-d blocks
                    if self.reshape_last_feat:
                        out = norm(x.transpose(1, 2).reshape(batch, -1, h, w))
                    else:
                        out = norm(x).transpose(1, 2)
                else:
                    out = norm(x)
                outs.append(out.contiguous())
        return tuple(outs)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.patch_embed]
        for i in range(self.frozen_stages):
            modules.append(self.network[i])
            if i in self.out_indices:
                modules.append(getattr(self, f"norm{i}"))
        return modules
