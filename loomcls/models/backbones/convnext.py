"""ConvNeXt V1 (Liu et al., 2022) and V2 (Woo et al., 2023): a ResNet modernized
towards a Transformer -- patchify stem, 7x7 depthwise convs, LayerNorm, inverted
bottlenecks with GELU, layer scale (V1) or global response normalization (V2).

Module names follow MMPretrain 1.x (``downsample_layers.N``, ``stages.N.M.
{depthwise_conv,norm,pointwise_conv1,pointwise_conv2,gamma,grn}``, ``norm{i}``
per output) so its checkpoints load unchanged.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, activation_checkpoint, build_activation_layer
from loomcv.validation import check, check_positive

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from ..utils.norm import GRN, LayerNorm2d, build_norm_layer
from .base_backbone import BaseBackbone


class ConvNeXtBlock(BaseModule):
    """Depthwise conv -> norm -> pointwise expand -> act (-> GRN) -> pointwise
    project, scaled by ``gamma`` (layer scale, when ``layer_scale_init_value > 0``)
    and added to the input.

    ``linear_pw_conv=True`` runs the pointwise layers as ``nn.Linear`` on a
    channel-last tensor (as the official code); False uses 1x1 convs. Both give
    the same function, with different state-dict shapes.
    """

    def __init__(self, in_channels: int, dw_conv_cfg: Mapping = dict(kernel_size=7, padding=3),
                 norm_cfg: Mapping = dict(type="LN2d", eps=1e-6), act_cfg: Mapping = dict(type="GELU"),
                 mlp_ratio: float = 4., linear_pw_conv: bool = True, drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6, use_grn: bool = False, with_cp: bool = False):
        super().__init__()
        self.with_cp, self.linear_pw_conv = with_cp, linear_pw_conv
        self.depthwise_conv = nn.Conv2d(in_channels, in_channels, groups=in_channels, **dw_conv_cfg)
        self.norm = build_norm_layer(norm_cfg, in_channels)
        mid_channels = int(mlp_ratio * in_channels)
        if linear_pw_conv:
            self.pointwise_conv1 = nn.Linear(in_channels, mid_channels)
        else:
            self.pointwise_conv1 = nn.Conv2d(in_channels, mid_channels, kernel_size=1)
        self.act = build_activation_layer(act_cfg)
        if linear_pw_conv:
            self.pointwise_conv2 = nn.Linear(mid_channels, in_channels)
        else:
            self.pointwise_conv2 = nn.Conv2d(mid_channels, in_channels, kernel_size=1)
        self.grn = GRN(mid_channels) if use_grn else None
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(in_channels)) \
            if layer_scale_init_value > 0 else None
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()

    def _norm(self, x: torch.Tensor, data_format: str) -> torch.Tensor:
        # LN2d knows both layouts; any other norm (e.g. BN) sees NCHW
        if isinstance(self.norm, LayerNorm2d):
            return self.norm(x, data_format=data_format)
        if data_format == "channel_last":
            return self.norm(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        return self.norm(x)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.depthwise_conv(x)
        layout = "channel_last" if self.linear_pw_conv else "channel_first"
        if self.linear_pw_conv:
            out = out.permute(0, 2, 3, 1)  # N, H, W, C
        out = self.act(self.pointwise_conv1(self._norm(out, layout)))
        if self.grn is not None:
            out = self.grn(out, data_format=layout)
        out = self.pointwise_conv2(out)
        if self.linear_pw_conv:
            out = out.permute(0, 3, 1, 2)
        if self.gamma is not None:
            out = out.mul(self.gamma.view(1, -1, 1, 1))
        return x + self.drop_path(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return activation_checkpoint(self._residual, x, enabled=self.with_cp and x.requires_grad)


@MODELS.register_module()
class ConvNeXt(BaseBackbone):
    """ConvNeXt V1 and V2.

    Args:
        arch: a name from ``arch_settings`` (V1: tiny..xlarge; V2 adds atto,
            femto, pico, nano, huge) or a dict with ``depths`` and ``channels``.
        stem_patch_size: the stem is a stride-``stem_patch_size`` patchify conv.
        use_grn / layer_scale_init_value: V2 is ``use_grn=True,
            layer_scale_init_value=0.`` (GRN instead of layer scale).
        out_indices: stages to output (negative counts from the end); each
            output has its own norm ``norm{i}``.
        frozen_stages: freeze the first ``frozen_stages`` stages with their
            downsample layers (0: nothing, as in MMPretrain).
        gap_before_final_norm: average-pool each output before its norm and
            return (N, C) vectors (classification); False returns feature maps.
    """

    arch_settings = {
        "atto": dict(depths=[2, 2, 6, 2], channels=[40, 80, 160, 320]),
        "femto": dict(depths=[2, 2, 6, 2], channels=[48, 96, 192, 384]),
        "pico": dict(depths=[2, 2, 6, 2], channels=[64, 128, 256, 512]),
        "nano": dict(depths=[2, 2, 8, 2], channels=[80, 160, 320, 640]),
        "tiny": dict(depths=[3, 3, 9, 3], channels=[96, 192, 384, 768]),
        "small": dict(depths=[3, 3, 27, 3], channels=[96, 192, 384, 768]),
        "base": dict(depths=[3, 3, 27, 3], channels=[128, 256, 512, 1024]),
        "large": dict(depths=[3, 3, 27, 3], channels=[192, 384, 768, 1536]),
        "xlarge": dict(depths=[3, 3, 27, 3], channels=[256, 512, 1024, 2048]),
        "huge": dict(depths=[3, 3, 27, 3], channels=[352, 704, 1408, 2816]),
    }

    def __init__(self, arch: Union[str, Mapping] = "tiny", in_channels: int = 3, stem_patch_size: int = 4,
                 norm_cfg: Mapping = dict(type="LN2d", eps=1e-6), act_cfg: Mapping = dict(type="GELU"),
                 linear_pw_conv: bool = True, use_grn: bool = False, drop_path_rate: float = 0.,
                 layer_scale_init_value: float = 1e-6, out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = 0, gap_before_final_norm: bool = True, with_cp: bool = False,
                 init_cfg=(dict(type="TruncNormal", layer=["Conv2d", "Linear"], std=.02, bias=0.),
                           dict(type="Constant", layer=["LayerNorm"], val=1., bias=0.))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        settings = select_arch(self, arch, self.arch_settings, ("depths", "channels"))
        self.depths, self.channels = list(settings["depths"]), list(settings["channels"])
        check(len(self.depths) == len(self.channels) > 0, self,
              f"arch depths ({self.depths}) and channels ({self.channels}) must be non-empty and equally long")
        check_positive(self, "stem_patch_size", stem_patch_size, integer=True)
        self.num_stages = len(self.depths)
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stages)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_stages)
        self.gap_before_final_norm = gap_before_final_norm

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv2d(in_channels, self.channels[0], kernel_size=stem_patch_size, stride=stem_patch_size),
            build_norm_layer(norm_cfg, self.channels[0]))])
        self.stages = nn.ModuleList()
        first = 0
        for i, (depth, channels) in enumerate(zip(self.depths, self.channels)):
            if i > 0:
                self.downsample_layers.append(nn.Sequential(
                    build_norm_layer(norm_cfg, self.channels[i - 1]),
                    nn.Conv2d(self.channels[i - 1], channels, kernel_size=2, stride=2)))
            self.stages.append(nn.Sequential(*[ConvNeXtBlock(
                channels, norm_cfg=norm_cfg, act_cfg=act_cfg, linear_pw_conv=linear_pw_conv,
                drop_path_rate=rates[first + j], layer_scale_init_value=layer_scale_init_value,
                use_grn=use_grn, with_cp=with_cp) for j in range(depth)]))
            first += depth
            if i in self.out_indices:
                self.add_module(f"norm{i}", build_norm_layer(norm_cfg, channels))
        self.feat_dim = self.channels[self.out_indices[-1]] if self.out_indices else self.channels[-1]
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(self.downsample_layers[i](x))
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean([-2, -1], keepdim=True)).flatten(1))
                else:
                    outs.append(norm(x))
        return tuple(outs)

    def frozen_modules(self):
        count = max(self.frozen_stages, 0)
        return [*self.downsample_layers[:count], *self.stages[:count]]
