"""Visual Attention Network (Guo et al., 2022): a four-stage CNN whose token mixer
is large-kernel attention (LKA) -- a 5x5 depthwise conv, a 7x7 depthwise conv
dilated by 3 and a 1x1 conv, whose output multiplies the input -- followed by a
conv feed-forward network with a 3x3 depthwise conv.

Module names follow MMPretrain 1.x (``patch_embed{i}.projection``,
``blocks{i}.j.attn.spatial_gating_unit.DW_conv`` ..., ``norm{i}``) so its
checkpoints load unchanged.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_activation_layer, build_norm_layer
from loomcv.model.bricks.transformer import PatchEmbed
from loomcv.validation import check

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class MixFFN(BaseModule):
    """1x1 conv expand -> 3x3 depthwise conv -> act -> 1x1 conv project (the depthwise
    conv gives the feed-forward network its positional information)."""

    def __init__(self, embed_dims: int, feedforward_channels: int, act_cfg: Mapping = dict(type="GELU"),
                 ffn_drop: float = 0., init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.embed_dims, self.feedforward_channels = embed_dims, feedforward_channels
        self.fc1 = nn.Conv2d(embed_dims, feedforward_channels, 1)
        self.dwconv = nn.Conv2d(feedforward_channels, feedforward_channels, 3, padding=1,
                                groups=feedforward_channels)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(feedforward_channels, embed_dims, 1)
        self.drop = nn.Dropout(ffn_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.act(self.dwconv(self.fc1(x))))
        return self.drop(self.fc2(x))


class LKA(BaseModule):
    """Large-kernel attention: a 21x21 receptive field from a 5x5 depthwise conv, a
    7x7 depthwise conv with dilation 3 and a 1x1 conv; the result gates the input."""

    def __init__(self, embed_dims: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.DW_conv = nn.Conv2d(embed_dims, embed_dims, 5, padding=2, groups=embed_dims)
        self.DW_D_conv = nn.Conv2d(embed_dims, embed_dims, 7, padding=9, groups=embed_dims, dilation=3)
        self.conv1 = nn.Conv2d(embed_dims, embed_dims, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv1(self.DW_D_conv(self.DW_conv(x)))


class SpatialAttention(BaseModule):
    """1x1 conv -> act -> LKA -> 1x1 conv, plus the input."""

    def __init__(self, embed_dims: int, act_cfg: Mapping = dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.proj_1 = nn.Conv2d(embed_dims, embed_dims, 1)
        self.activation = build_activation_layer(act_cfg)
        self.spatial_gating_unit = LKA(embed_dims)
        self.proj_2 = nn.Conv2d(embed_dims, embed_dims, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.proj_2(self.spatial_gating_unit(self.activation(self.proj_1(x))))


class VANBlock(BaseModule):
    """BN -> spatial attention and BN -> MixFFN, each scaled per channel
    (``layer_scale_{1,2}`` when ``layer_scale_init_value > 0``) and added back
    through stochastic depth."""

    def __init__(self, embed_dims: int, ffn_ratio: float = 4., drop_rate: float = 0., drop_path_rate: float = 0.,
                 act_cfg: Mapping = dict(type="GELU"), norm_cfg: Mapping = dict(type="BN", eps=1e-5),
                 layer_scale_init_value: float = 1e-2, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_channels = embed_dims
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = SpatialAttention(embed_dims, act_cfg=act_cfg)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0. else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = MixFFN(embed_dims, int(embed_dims * ffn_ratio), act_cfg=act_cfg, ffn_drop=drop_rate)
        if layer_scale_init_value > 0:
            self.layer_scale_1 = nn.Parameter(layer_scale_init_value * torch.ones(embed_dims))
            self.layer_scale_2 = nn.Parameter(layer_scale_init_value * torch.ones(embed_dims))
        else:
            self.layer_scale_1 = self.layer_scale_2 = None

    @staticmethod
    def _scale(scale, x):
        return x if scale is None else scale.view(1, -1, 1, 1) * x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self._scale(self.layer_scale_1, self.attn(self.norm1(x))))
        return x + self.drop_path(self._scale(self.layer_scale_2, self.mlp(self.norm2(x))))


class VANPatchEmbed(PatchEmbed):
    """A strided conv and BN that keep the (B, C, H, W) layout (no flattening)."""

    def __init__(self, *args, norm_cfg: Mapping = dict(type="BN"), **kwargs):
        super().__init__(*args, norm_cfg=norm_cfg, **kwargs)

    def forward(self, x: torch.Tensor):
        if self.adaptive_padding is not None:
            x = self.adaptive_padding(x)
        x = self.projection(x)
        out_size = (x.shape[2], x.shape[3])
        if self.norm is not None:
            x = self.norm(x)
        return x, out_size


@MODELS.register_module()
class VAN(BaseBackbone):
    """Visual Attention Network.

    Args:
        arch: 'tiny', 'small', 'base', 'large' (or 't', 's', 'b', 'l'), the
            paper's 'b0'..'b3' for the same four and its larger 'b4', 'b5',
            'b6'; or a dict with exactly ``embed_dims``, ``depths`` and
            ``ffn_ratios`` (one per stage).
        patch_sizes: kernel of each stage's patch embedding (stride
            ``size // 2 + 1``, padding ``size // 2``).
        drop_rate / drop_path_rate: dropout in the MixFFN; stochastic depth
            rising linearly over all blocks.
        out_indices: stages to output as (B, C, H, W) maps.
        frozen_stages: freeze stages ``0..frozen_stages`` (patch embedding,
            blocks and norm); -1 freezes nothing (MMPretrain's convention).
        norm_eval: keep BN layers in eval mode while training.
        norm_cfg: the norm after each stage (over channels).
        block_cfgs: extra arguments of every :class:`VANBlock`.
    """

    arch_zoo = {
        **dict.fromkeys(["b0", "t", "tiny"], dict(embed_dims=[32, 64, 160, 256], depths=[3, 3, 5, 2],
                                                  ffn_ratios=[8, 8, 4, 4])),
        **dict.fromkeys(["b1", "s", "small"], dict(embed_dims=[64, 128, 320, 512], depths=[2, 2, 4, 2],
                                                   ffn_ratios=[8, 8, 4, 4])),
        **dict.fromkeys(["b2", "b", "base"], dict(embed_dims=[64, 128, 320, 512], depths=[3, 3, 12, 3],
                                                  ffn_ratios=[8, 8, 4, 4])),
        **dict.fromkeys(["b3", "l", "large"], dict(embed_dims=[64, 128, 320, 512], depths=[3, 5, 27, 3],
                                                   ffn_ratios=[8, 8, 4, 4])),
        "b4": dict(embed_dims=[64, 128, 320, 512], depths=[3, 6, 40, 3], ffn_ratios=[8, 8, 4, 4]),
        "b5": dict(embed_dims=[96, 192, 480, 768], depths=[3, 3, 24, 3], ffn_ratios=[8, 8, 4, 4]),
        "b6": dict(embed_dims=[96, 192, 384, 768], depths=[6, 6, 90, 6], ffn_ratios=[8, 8, 4, 4]),
    }

    def __init__(self, arch: Union[str, Mapping] = "tiny", patch_sizes: Sequence = (7, 3, 3, 3),
                 in_channels: int = 3, drop_rate: float = 0., drop_path_rate: float = 0.,
                 out_indices: Union[int, Sequence[int]] = (3,), frozen_stages: int = -1, norm_eval: bool = False,
                 norm_cfg: Mapping = dict(type="LN"), block_cfgs: Mapping = dict(), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_zoo, ("embed_dims", "depths", "ffn_ratios"),
                               allow_extra_keys=False)
        self.embed_dims, self.depths = list(settings["embed_dims"]), list(settings["depths"])
        self.ffn_ratios = list(settings["ffn_ratios"])
        self.num_stages = len(self.depths)
        check(self.num_stages > 0 and len(self.embed_dims) == len(self.ffn_ratios) == self.num_stages, self,
              f"arch embed_dims ({self.embed_dims}), depths ({self.depths}) and ffn_ratios ({self.ffn_ratios}) "
              f"must be non-empty and equally long")
        check(len(patch_sizes) >= self.num_stages, self,
              f"patch_sizes needs one size per stage ({self.num_stages}), got {list(patch_sizes)}")
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stages)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_stages - 1)
        self.norm_eval = norm_eval

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        first = 0
        for i, depth in enumerate(self.depths):
            size = patch_sizes[i]
            patch_embed = VANPatchEmbed(in_channels=in_channels if i == 0 else self.embed_dims[i - 1],
                                        embed_dims=self.embed_dims[i], kernel_size=size, stride=size // 2 + 1,
                                        padding=(size // 2, size // 2), norm_cfg=dict(type="BN"))
            blocks = nn.ModuleList(VANBlock(self.embed_dims[i], ffn_ratio=self.ffn_ratios[i], drop_rate=drop_rate,
                                            drop_path_rate=rates[first + j], **block_cfgs) for j in range(depth))
            first += depth
            self.add_module(f"patch_embed{i + 1}", patch_embed)
            self.add_module(f"blocks{i + 1}", blocks)
            self.add_module(f"norm{i + 1}", build_norm_layer(norm_cfg, self.embed_dims[i])[1])
        self.feat_dim = self.embed_dims[self.out_indices[-1]] if self.out_indices else self.embed_dims[-1]
        self._freeze_stages()

    def frozen_modules(self):
        return [getattr(self, f"{part}{i + 1}") for i in range(self.frozen_stages + 1)
                for part in ("patch_embed", "blocks", "norm")]

    def forward(self, x: torch.Tensor):
        outs = []
        for i in range(self.num_stages):
            x, (h, w) = getattr(self, f"patch_embed{i + 1}")(x)
            for block in getattr(self, f"blocks{i + 1}"):
                x = block(x)
            # the stage norm normalizes each position over the channels
            x = getattr(self, f"norm{i + 1}")(x.flatten(2).transpose(1, 2))
            x = x.transpose(1, 2).reshape(-1, self.embed_dims[i], h, w).contiguous()
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
