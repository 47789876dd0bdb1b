"""ConvMixer (Trockman & Kolter, 2022): a patchify stem, then blocks of a residual
depthwise conv (spatial mixing) and a pointwise conv (channel mixing), each
followed by the activation and BN, at one resolution throughout.

Module names follow MMPretrain 1.x (``stem.{0,2}``, ``stages.N.0.fn.{0,2}`` the
residual depthwise part, ``stages.N.{1,3}`` the pointwise part) so its checkpoints load.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import build_activation_layer, build_norm_layer

from ..utils.arch import check_frozen_stages, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class Residual(nn.Module):
    """``fn(x) + x``; the wrapped module is stored as ``fn``."""

    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x) + x


@MODELS.register_module()
class ConvMixer(BaseBackbone):
    """ConvMixer.

    Args:
        arch: '768/32', '1024/20', '1536/20' (width/depth) or a dict with
            ``embed_dims``, ``depth``, ``patch_size`` and ``kernel_size``.
        in_channels: input image channels.
        norm_cfg / act_cfg: BN and GELU by default.
        out_indices: blocks to output (negative counts from the end).
        frozen_stages: freeze the first ``frozen_stages`` blocks (0: nothing,
            as MMPretrain; the stem is never frozen).
    """

    arch_settings = {
        "768/32": dict(embed_dims=768, depth=32, patch_size=7, kernel_size=7),
        "1024/20": dict(embed_dims=1024, depth=20, patch_size=14, kernel_size=9),
        "1536/20": dict(embed_dims=1536, depth=20, patch_size=7, kernel_size=9),
    }

    def __init__(self, arch: Union[str, Mapping] = "768/32", in_channels: int = 3, norm_cfg=dict(type="BN"),
                 act_cfg=dict(type="GELU"), out_indices: Union[int, Sequence[int]] = -1, frozen_stages: int = 0,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_settings, ("embed_dims", "depth", "patch_size", "kernel_size"))
        self.embed_dims, self.depth = settings["embed_dims"], settings["depth"]
        self.patch_size, self.kernel_size = settings["patch_size"], settings["kernel_size"]
        self.out_indices = normalize_out_indices(self, out_indices, self.depth)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.depth)
        self.act = build_activation_layer(act_cfg)
        dims = self.embed_dims
        self.stem = nn.Sequential(nn.Conv2d(in_channels, dims, kernel_size=self.patch_size, stride=self.patch_size),
                                  self.act, build_norm_layer(norm_cfg, dims)[1])
        self.stages = nn.Sequential(*[nn.Sequential(
            Residual(nn.Sequential(
                nn.Conv2d(dims, dims, self.kernel_size, groups=dims, padding="same"), self.act,
                build_norm_layer(norm_cfg, dims)[1])),
            nn.Conv2d(dims, dims, kernel_size=1), self.act, build_norm_layer(norm_cfg, dims)[1])
            for _ in range(self.depth)])
        self.feat_dim = dims
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return list(self.stages[:max(self.frozen_stages, 0)])
