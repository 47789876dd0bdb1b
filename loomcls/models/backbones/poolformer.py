"""PoolFormer (Yu et al., 2022): the MetaFormer block with plain average pooling
as its token mixer, in four stages joined by strided patch embeddings.

Module names follow MMPretrain 1.x (``patch_embed.proj``, ``network.N`` alternating
stages of ``{norm1,token_mixer,norm2,mlp.fc1,mlp.fc2,layer_scale_1,layer_scale_2}``
blocks and downsampling ``PatchEmbed``s, ``norm{i}`` per output) so its
checkpoints load unchanged.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_activation_layer, build_norm_layer
from loomcv.validation import check

from ..utils.arch import select_arch
from .base_backbone import BaseBackbone


class PatchEmbed(nn.Module):
    """A strided conv (``proj``), optionally followed by a norm: (B, C, H, W) -> (B, C', H/s, W/s)."""

    def __init__(self, patch_size=16, stride=16, padding=0, in_chans=3, embed_dim=768, norm_layer=None):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=stride, padding=padding)
        self.norm = norm_layer(embed_dim) if norm_layer else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x))


class Pooling(nn.Module):
    """Average pooling minus the input (the block adds the input back)."""

    def __init__(self, pool_size: int = 3):
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(x) - x


class Mlp(nn.Module):
    """Two 1x1 convs with an activation and dropout between and after."""

    def __init__(self, in_features, hidden_features=None, out_features=None, act_cfg=dict(type="GELU"), drop=0.):
        super().__init__()
        out_features, hidden_features = out_features or in_features, hidden_features or in_features
        self.fc1 = nn.Conv2d(in_features, hidden_features, 1)
        self.act = build_activation_layer(act_cfg)
        self.fc2 = nn.Conv2d(hidden_features, out_features, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class PoolFormerBlock(BaseModule):
    """x + s1 * pool(norm1(x)), then + s2 * mlp(norm2(x)); s1, s2 are per-channel layer scales."""

    def __init__(self, dim, pool_size=3, mlp_ratio=4., norm_cfg=dict(type="GN", num_groups=1),
                 act_cfg=dict(type="GELU"), drop=0., drop_path=0., layer_scale_init_value=1e-5):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, dim)[1]
        self.token_mixer = Pooling(pool_size=pool_size)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.layer_scale_1 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.layer_scale_2 = nn.Parameter(layer_scale_init_value * torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.layer_scale_1[:, None, None] * self.token_mixer(self.norm1(x)))
        return x + self.drop_path(self.layer_scale_2[:, None, None] * self.mlp(self.norm2(x)))


@MODELS.register_module()
class PoolFormer(BaseBackbone):
    """PoolFormer S12/S24/S36/M36/M48.

    Args:
        arch: a name from ``arch_settings`` or a dict with ``layers`` and
            ``embed_dims`` (optionally ``mlp_ratios``, ``layer_scale_init_value``).
        pool_size: the token mixer's pooling window.
        in_patch_size / in_stride / in_pad: the stem patch embedding.
        down_patch_size / down_stride / down_pad: the patch embeddings between stages.
        drop_rate / drop_path_rate: dropout in the MLPs; stochastic depth rising
            linearly over all blocks.
        out_indices: positions in ``network`` to output: 0, 2, 4, 6 are the four
            stages, 1, 3, 5 the downsampling embeddings (default -1: the last
            stage); each output has its own norm ``norm{i}``.
        frozen_stages: -1 freezes nothing; n >= 0 freezes the stem patch
            embedding and ``network[0:n]`` (with their output norms).
            MMPretrain's default (0) freezes the stem even when nothing else
            is asked to be frozen; the default here is -1 so that a default
            PoolFormer trains every layer (pass 0 for MMPretrain's behaviour).
    """

    arch_settings = {
        "s12": dict(layers=[2, 2, 6, 2], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                    layer_scale_init_value=1e-5),
        "s24": dict(layers=[4, 4, 12, 4], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                    layer_scale_init_value=1e-5),
        "s36": dict(layers=[6, 6, 18, 6], embed_dims=[64, 128, 320, 512], mlp_ratios=[4, 4, 4, 4],
                    layer_scale_init_value=1e-6),
        "m36": dict(layers=[6, 6, 18, 6], embed_dims=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4],
                    layer_scale_init_value=1e-6),
        "m48": dict(layers=[8, 8, 24, 8], embed_dims=[96, 192, 384, 768], mlp_ratios=[4, 4, 4, 4],
                    layer_scale_init_value=1e-6),
    }

    def __init__(self, arch: Union[str, Mapping] = "s12", pool_size=3, norm_cfg=dict(type="GN", num_groups=1),
                 act_cfg=dict(type="GELU"), in_patch_size=7, in_stride=4, in_pad=2, down_patch_size=3,
                 down_stride=2, down_pad=1, drop_rate=0., drop_path_rate=0.,
                 out_indices: Union[int, Sequence[int]] = -1, frozen_stages: int = -1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_settings, ("layers", "embed_dims"))
        layers, embed_dims = list(settings["layers"]), list(settings["embed_dims"])
        mlp_ratios = settings.get("mlp_ratios", [4] * len(layers))
        layer_scale = settings.get("layer_scale_init_value", 1e-5)
        check(len(layers) == len(embed_dims) == len(mlp_ratios) == 4, self,
              f"arch layers, embed_dims and mlp_ratios need one entry per stage (4), got {layers}, {embed_dims}, "
              f"{mlp_ratios}")
        check(all(a != b for a, b in zip(embed_dims, embed_dims[1:])), self,
              f"arch embed_dims must change between stages (each change is a downsampling), got {embed_dims}")
        self.patch_embed = PatchEmbed(patch_size=in_patch_size, stride=in_stride, padding=in_pad, in_chans=3,
                                      embed_dim=embed_dims[0])
        total, network = sum(layers), []
        for i, depth in enumerate(layers):
            first = sum(layers[:i])
            network.append(nn.Sequential(*[PoolFormerBlock(
                embed_dims[i], pool_size=pool_size, mlp_ratio=mlp_ratios[i], norm_cfg=norm_cfg, act_cfg=act_cfg,
                drop=drop_rate, drop_path=drop_path_rate * (first + j) / max(total - 1, 1),
                layer_scale_init_value=layer_scale) for j in range(depth)]))
            if i < len(layers) - 1:
                network.append(PatchEmbed(patch_size=down_patch_size, stride=down_stride, padding=down_pad,
                                          in_chans=embed_dims[i], embed_dim=embed_dims[i + 1]))
        self.network = nn.ModuleList(network)
        num_outs = len(network)
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        for i, index in enumerate(indices):
            check(-num_outs <= index < num_outs, self,
                  f"out_indices entry {index} is out of range for {num_outs} network positions "
                  f"(0..{num_outs - 1} or -{num_outs}..-1)")
            indices[i] = index % num_outs
        self.out_indices = indices
        for index in self.out_indices:
            self.add_module(f"norm{index}", build_norm_layer(norm_cfg, embed_dims[(index + 1) // 2])[1])
        check(frozen_stages in range(-1, num_outs + 1), self,
              f"frozen_stages must be in -1..{num_outs}, got {frozen_stages!r}")
        self.frozen_stages = frozen_stages
        self.feat_dim = embed_dims[(self.out_indices[-1] + 1) // 2] if self.out_indices else embed_dims[-1]
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        x = self.patch_embed(x)
        outs = []
        for i, block in enumerate(self.network):
            x = block(x)
            if i in self.out_indices:
                outs.append(getattr(self, f"norm{i}")(x))
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
