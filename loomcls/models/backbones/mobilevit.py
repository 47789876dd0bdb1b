"""MobileViT (Mehta & Rastegari, 2022): MobileNetV2 inverted residuals, with
transformer blocks in the later stages. A MobileViT block convolves locally,
then lets the pixels at the same offset within every ``patch_size`` patch
attend to each other (global mixing at 1/P of the cost), folds back and fuses
with its input.

Module names follow MMPretrain 1.x (``stem``, ``layers.i``, ``local_rep``,
``global_rep``, ``conv_proj``, ``conv_fusion``, ``conv_1x1_exp``) so its
checkpoints load unchanged.
"""

import math
from typing import Mapping, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from loomcls.registry import MODELS
from loomcv.model.bricks import ConvModule, build_norm_layer
from loomcv.validation import check, check_choice

from ..utils.arch import check_frozen_stages, normalize_out_indices
from .base_backbone import BaseBackbone
from .mobilenet_v2 import InvertedResidual
from .vision_transformer import TransformerEncoderLayer


class MobileVitBlock(nn.Module):
    """Local conv (``local_rep``), transformer over unfolded patches (``global_rep``,
    with a final norm), 1x1 projection back (``conv_proj``) and a conv fusing the
    result with the block's input (``conv_fusion``, unless ``no_fusion``).

    Args:
        in_channels / out_channels: of the block.
        transformer_dim / ffn_dim: width and feed-forward width of the transformer.
        conv_ksize: kernel of the local and fusion convs.
        num_transformer_blocks / num_heads: depth and heads of the transformer.
        patch_size: pixels at the same offset inside each patch x patch window
            form one sequence; maps that it does not divide are resized to a
            multiple and back.
    """

    def __init__(self, in_channels: int, transformer_dim: int, ffn_dim: int, out_channels: int,
                 conv_ksize: int = 3, conv_cfg: Optional[Mapping] = None, norm_cfg: Optional[Mapping] = dict(type="BN"),
                 act_cfg: Optional[Mapping] = dict(type="Swish"), num_transformer_blocks: int = 2,
                 patch_size: int = 2, num_heads: int = 4, drop_rate: float = 0., attn_drop_rate: float = 0.,
                 drop_path_rate: float = 0., no_fusion: bool = False,
                 transformer_norm_cfg: Mapping = dict(type="LN")):
        super().__init__()
        pad = (conv_ksize - 1) // 2
        self.local_rep = nn.Sequential(
            ConvModule(in_channels, in_channels, conv_ksize, padding=pad, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                       act_cfg=act_cfg),
            ConvModule(in_channels, transformer_dim, 1, bias=False, conv_cfg=conv_cfg, norm_cfg=None, act_cfg=None))
        self.global_rep = nn.Sequential(*[
            TransformerEncoderLayer(transformer_dim, num_heads, ffn_dim, drop_rate=drop_rate,
                                    attn_drop_rate=attn_drop_rate, drop_path_rate=drop_path_rate, qkv_bias=True,
                                    act_cfg=dict(type="Swish"), norm_cfg=transformer_norm_cfg)
            for _ in range(num_transformer_blocks)], build_norm_layer(transformer_norm_cfg, transformer_dim)[1])
        self.conv_proj = ConvModule(transformer_dim, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                    act_cfg=act_cfg)
        self.conv_fusion = None if no_fusion else ConvModule(
            in_channels + out_channels, out_channels, conv_ksize, padding=pad, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.patch_size = (patch_size, patch_size)
        self.patch_area = patch_size * patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        x = self.local_rep(x)
        ph, pw = self.patch_size
        batch, channels, height, width = x.shape
        new_h, new_w = math.ceil(height / ph) * ph, math.ceil(width / pw) * pw
        resized = (new_h, new_w) != (height, width)
        if resized:
            x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", align_corners=False)
        nh, nw = new_h // ph, new_w // pw
        # unfold: one sequence of nh * nw tokens per offset (i, j) inside the patch
        x = x.reshape(batch, channels, nh, ph, nw, pw).permute(0, 3, 5, 2, 4, 1)
        x = self.global_rep(x.reshape(batch * self.patch_area, nh * nw, channels))
        # fold back to (B, C, H, W)
        x = x.reshape(batch, ph, pw, nh, nw, channels).permute(0, 5, 3, 1, 4, 2)
        x = x.reshape(batch, channels, new_h, new_w)
        if resized:
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        x = self.conv_proj(x)
        if self.conv_fusion is not None:
            x = self.conv_fusion(torch.cat((shortcut, x), dim=1))
        return x


@MODELS.register_module()
class MobileViT(BaseBackbone):
    """MobileViT.

    Args:
        arch: 'small', 'x_small' or 'xx_small', or a list of layer settings:
            ``['mobilenetv2', out_channels, stride, num_blocks, expand_ratio]``
            or ``['mobilevit', out_channels, stride, transformer_dim, ffn_dim,
            num_transformer_blocks, expand_ratio]``.
        stem_channels: width of the stride-2 3x3 stem.
        last_exp_factor: the last layer is followed by a 1x1 conv widening it
            this many times (``conv_1x1_exp``; part of the last output).
        out_indices: layers to output (the default 4 is the last of five).
        frozen_stages: freeze ``layers[:frozen_stages]`` (the stem is not
            frozen, as in MMPretrain); -1 or 0 freezes nothing.
        conv_cfg / norm_cfg / act_cfg: of the stem and ``conv_1x1_exp``; the
            blocks use MMPretrain's fixed BN and Swish.
    """

    arch_settings = {
        "small": [["mobilenetv2", 32, 1, 1, 4], ["mobilenetv2", 64, 2, 3, 4], ["mobilevit", 96, 2, 144, 288, 2, 4],
                  ["mobilevit", 128, 2, 192, 384, 4, 4], ["mobilevit", 160, 2, 240, 480, 3, 4]],
        "x_small": [["mobilenetv2", 32, 1, 1, 4], ["mobilenetv2", 48, 2, 3, 4], ["mobilevit", 64, 2, 96, 192, 2, 4],
                    ["mobilevit", 80, 2, 120, 240, 4, 4], ["mobilevit", 96, 2, 144, 288, 3, 4]],
        "xx_small": [["mobilenetv2", 16, 1, 1, 2], ["mobilenetv2", 24, 2, 3, 2], ["mobilevit", 48, 2, 64, 128, 2, 2],
                     ["mobilevit", 64, 2, 80, 160, 4, 2], ["mobilevit", 80, 2, 96, 192, 3, 2]],
    }
    layer_types = ("mobilenetv2", "mobilevit")

    def __init__(self, arch: Union[str, Sequence] = "small", in_channels: int = 3, stem_channels: int = 16,
                 last_exp_factor: int = 4, out_indices: Union[int, Sequence[int]] = (4,), frozen_stages: int = -1,
                 conv_cfg: Optional[Mapping] = None, norm_cfg: Mapping = dict(type="BN"),
                 act_cfg: Mapping = dict(type="Swish"),
                 init_cfg=(dict(type="Kaiming", layer=["Conv2d"]),
                           dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        if isinstance(arch, str):
            check_choice(self, "arch", arch.lower(), sorted(self.arch_settings))
            arch = self.arch_settings[arch.lower()]
        check(isinstance(arch, Sequence) and len(arch) > 0 and all(
            isinstance(s, Sequence) and len(s) > 0 and s[0] in self.layer_types for s in arch), self,
            f"arch must be one of {sorted(self.arch_settings)} or a list of layer settings starting with "
            f"one of {list(self.layer_types)}, got {arch!r}")
        self.arch = [list(s) for s in arch]
        self.num_stages = len(self.arch)
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stages)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_stages - 1)

        self.stem = ConvModule(in_channels, stem_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                               norm_cfg=norm_cfg, act_cfg=act_cfg)
        make = {"mobilenetv2": self.make_mobilenetv2_layer, "mobilevit": self.make_mobilevit_layer}
        channels, layers, self.widths = stem_channels, [], []
        for layer_type, *settings in self.arch:
            layer, channels = make[layer_type](channels, *settings)
            layers.append(layer)
            self.widths.append(channels)
        self.layers = nn.Sequential(*layers)
        self.conv_1x1_exp = ConvModule(channels, last_exp_factor * channels, 1, conv_cfg=conv_cfg,
                                       norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.widths[-1] = last_exp_factor * channels
        self.feat_dim = self.widths[self.out_indices[-1]] if self.out_indices else self.widths[-1]
        self._freeze_stages()

    @staticmethod
    def make_mobilevit_layer(in_channels, out_channels, stride, transformer_dim, ffn_dim, num_transformer_blocks,
                             expand_ratio=4):
        """One inverted residual (carrying the stride) then one :class:`MobileVitBlock`."""
        return nn.Sequential(
            InvertedResidual(in_channels, out_channels, stride=stride, expand_ratio=expand_ratio,
                             act_cfg=dict(type="Swish")),
            MobileVitBlock(out_channels, transformer_dim, ffn_dim, out_channels,
                           num_transformer_blocks=num_transformer_blocks)), out_channels

    @staticmethod
    def make_mobilenetv2_layer(in_channels, out_channels, stride, num_blocks, expand_ratio=4):
        """``num_blocks`` inverted residuals, the first carrying the stride."""
        blocks = []
        for i in range(num_blocks):
            blocks.append(InvertedResidual(in_channels, out_channels, stride=stride if i == 0 else 1,
                                           expand_ratio=expand_ratio, act_cfg=dict(type="Swish")))
            in_channels = out_channels
        return nn.Sequential(*blocks), out_channels

    def frozen_modules(self):
        return list(self.layers[:max(self.frozen_stages, 0)])

    def forward(self, x: torch.Tensor):
        x = self.stem(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1:
                x = self.conv_1x1_exp(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
