"""RIFormer (Wang et al., 2023): a PoolFormer whose token mixer is only a
per-channel affine map (``affine(x) - x``), trained by distillation so that at
deployment the mixer can be folded into the norm before it: a vision backbone
with no token mixer at all.

Module names follow MMPretrain 1.x (``network.i.j.{norm1,token_mixer.affine,
norm2,mlp,layer_scale_1,layer_scale_2}``, ``norm_reparam`` in deploy mode,
``norm{i}``) so its checkpoints (trained or deployed) load unchanged.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_norm_layer
from loomcv.validation import check

from ..utils.arch import select_arch
from .base_backbone import BaseBackbone
from .poolformer import Mlp, PatchEmbed, PoolFormer


class Affine(nn.Module):
    """A per-channel scale and shift (a depthwise 1x1 conv) minus the input."""

    def __init__(self, in_features: int):
        super().__init__()
        self.affine = nn.Conv2d(in_features, in_features, kernel_size=1, groups=in_features, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.affine(x) - x


class RIFormerBlock(BaseModule):
    """``x + s1 * affine(norm1(x))`` then ``x + s2 * mlp(norm2(x))``; in deploy mode
    the first branch is ``s1 * norm_reparam(x)``, the norm with the affine map
    folded into its weight and bias (:meth:`switch_to_deploy`)."""

    def __init__(self, dim: int, mlp_ratio: float = 4., norm_cfg: Mapping = dict(type="GN", num_groups=1),
                 act_cfg: Mapping = dict(type="GELU"), drop: float = 0., drop_path: float = 0.,
                 layer_scale_init_value: float = 1e-5, deploy: bool = False):
        super().__init__()
        if deploy:
            self.norm_reparam = build_norm_layer(norm_cfg, dim)[1]
        else:
            self.norm1 = build_norm_layer(norm_cfg, dim)[1]
            self.token_mixer = Affine(in_features=dim)
        self.norm2 = build_norm_layer(norm_cfg, dim)[1]
        self.mlp = Mlp(in_features=dim, hidden_features=int(dim * mlp_ratio), act_cfg=act_cfg, drop=drop)
        self.drop_path = DropPath(drop_path) if drop_path > 0. else nn.Identity()
        self.layer_scale_1 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.layer_scale_2 = nn.Parameter(layer_scale_init_value * torch.ones(dim))
        self.norm_cfg, self.dim, self.deploy = norm_cfg, dim, deploy

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mixed = self.norm_reparam(x) if self.deploy else self.token_mixer(self.norm1(x))
        x = x + self.drop_path(self.layer_scale_1[:, None, None] * mixed)
        return x + self.drop_path(self.layer_scale_2[:, None, None] * self.mlp(self.norm2(x)))

    @staticmethod
    def fuse_affine(norm: nn.Module, token_mixer: Affine):
        """(weight, bias) of a norm equal to ``token_mixer(norm(x))``: the affine's
        scale minus one times the norm's affine part, plus the affine's shift."""
        gamma_affn = token_mixer.affine.weight.reshape(-1) - 1
        return norm.weight * gamma_affn, norm.bias * gamma_affn + token_mixer.affine.bias

    def get_equivalent_scale_bias(self):
        return self.fuse_affine(self.norm1, self.token_mixer)

    @torch.no_grad()
    def switch_to_deploy(self):
        if self.deploy:
            return
        scale, bias = self.get_equivalent_scale_bias()
        self.norm_reparam = build_norm_layer(self.norm_cfg, self.dim)[1].to(scale.device)
        self.norm_reparam.weight.copy_(scale)
        self.norm_reparam.bias.copy_(bias)
        del self.norm1, self.token_mixer
        self.deploy = True


@MODELS.register_module()
class RIFormer(BaseBackbone):
    """RIFormer S12/S24/S36/M36/M48 (PoolFormer's sizes).

    Args:
        arch: a name from ``arch_settings`` or a dict with ``layers`` and
            ``embed_dims`` (optionally ``mlp_ratios``, ``layer_scale_init_value``).
        in_patch_size / in_stride / in_pad, down_patch_size / down_stride /
            down_pad: the stem and between-stage patch embeddings.
        drop_rate / drop_path_rate: MLP dropout; stochastic depth rising
            linearly over all blocks.
        out_indices: positions in ``network`` (0, 2, 4, 6 the stages, 1, 3, 5 the
            downsamplings; -1 the last), each with its norm ``norm{i}``.
        frozen_stages: -1 freezes nothing; n >= 0 freezes the stem and
            ``network[0..n]`` (inclusive, as MMPretrain's RIFormer) with their
            output norms.
        deploy: build the folded (token-mixer-free) blocks directly;
            :meth:`switch_to_deploy` converts a trained model in place.
    """

    arch_settings = PoolFormer.arch_settings

    def __init__(self, arch: Union[str, Mapping] = "s12", in_channels: int = 3,
                 norm_cfg: Mapping = dict(type="GN", num_groups=1), act_cfg: Mapping = dict(type="GELU"),
                 in_patch_size=7, in_stride=4, in_pad=2, down_patch_size=3, down_stride=2, down_pad=1,
                 drop_rate: float = 0., drop_path_rate: float = 0., out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = -1, init_cfg=None, deploy: bool = False):
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
        self.patch_embed = PatchEmbed(patch_size=in_patch_size, stride=in_stride, padding=in_pad,
                                      in_chans=in_channels, embed_dim=embed_dims[0])
        total, network = sum(layers), []
        for i, depth in enumerate(layers):
            first = sum(layers[:i])
            network.append(nn.Sequential(*[RIFormerBlock(
                embed_dims[i], mlp_ratio=mlp_ratios[i], norm_cfg=norm_cfg, act_cfg=act_cfg, drop=drop_rate,
                drop_path=drop_path_rate * (first + j) / max(total - 1, 1), layer_scale_init_value=layer_scale,
                deploy=deploy) for j in range(depth)]))
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
        check(frozen_stages in range(-1, num_outs), self,
              f"frozen_stages must be in -1..{num_outs - 1}, got {frozen_stages!r}")
        self.frozen_stages, self.deploy = frozen_stages, deploy
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
        for i in range(self.frozen_stages + 1):
            modules.append(self.network[i])
            if i in self.out_indices:
                modules.append(getattr(self, f"norm{i}"))
        return modules

    def switch_to_deploy(self):
        """Fold every block's affine token mixer into its norm (same outputs, fewer ops)."""
        for module in self.modules():
            if isinstance(module, RIFormerBlock):
                module.switch_to_deploy()
        self.deploy = True
        self._freeze_stages()  # the folded norms of frozen stages stay frozen
