"""Darknet-53 (Redmon and Farhadi, 2018), YOLOv3's backbone."""

from typing import Sequence

import torch.nn as nn

from loomcls.models.backbones.base_backbone import BaseBackbone
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule
from loomdet.registry import MODELS
from .pretrained import DEFAULT_BACKBONE_INIT, resolve_init_cfg


class ResBlock(BaseModule):
    """1x1 conv to half the channels, 3x3 conv back, plus the input."""

    def __init__(self, in_channels: int, conv_cfg=None, norm_cfg=dict(type="BN", requires_grad=True),
                 act_cfg=dict(type="LeakyReLU", negative_slope=0.1), init_cfg=None) -> None:  # noqa: B006
        super().__init__(init_cfg)
        if in_channels % 2:
            raise ValueError(f"Darknet ResBlock: in_channels must be even, got {in_channels}")
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(in_channels, in_channels // 2, 1, **cfg)
        self.conv2 = ConvModule(in_channels // 2, in_channels, 3, padding=1, **cfg)

    def forward(self, x):
        return x + self.conv2(self.conv1(x))


@MODELS.register_module()
class Darknet(BaseBackbone):
    """Darknet backbone: a 3x3 stem (``conv1``) and five ``conv_res_block``s, each a stride-2
    3x3 conv followed by residual blocks.

    Args:
        depth: only 53.
        out_indices: of ``(conv1, conv_res_block1, ..., conv_res_block5)``;
            (3, 4, 5) gives strides 8, 16, 32 with 256, 512, 1024 channels.
        frozen_stages: freeze the first ``frozen_stages`` of those (-1: none).
        conv_cfg / norm_cfg / act_cfg: of every conv.
        norm_eval: keep BN layers in eval mode while training.
        pretrained: deprecated path of pretrained weights; use ``init_cfg``.
    """

    # depth: (residual blocks per stage, (in, out) channels per stage)
    arch_settings = {53: ((1, 2, 8, 8, 4), ((32, 64), (64, 128), (128, 256), (256, 512), (512, 1024)))}

    def __init__(self, depth: int = 53, out_indices: Sequence[int] = (3, 4, 5), frozen_stages: int = -1,
                 conv_cfg=None, norm_cfg=dict(type="BN", requires_grad=True),
                 act_cfg=dict(type="LeakyReLU", negative_slope=0.1), norm_eval: bool = True, pretrained=None,
                 init_cfg=None) -> None:  # noqa: B006
        super().__init__(init_cfg=resolve_init_cfg("Darknet", pretrained, init_cfg,
                                                   [dict(c) for c in DEFAULT_BACKBONE_INIT]))
        if depth not in self.arch_settings:
            raise KeyError(f"Darknet: depth must be one of {sorted(self.arch_settings)}, got {depth!r}")
        num_blocks = len(self.arch_settings[depth][0]) + 1
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        if any(not isinstance(i, int) or not 0 <= i < num_blocks for i in out_indices):
            raise ValueError(f"Darknet: out_indices must be in range(0, {num_blocks}), got {out_indices}")
        if frozen_stages not in range(-1, num_blocks + 1):
            raise ValueError(f"Darknet: frozen_stages must be in range(-1, {num_blocks + 1}), got {frozen_stages!r}")
        self.depth = depth
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.layers, self.channels = self.arch_settings[depth]
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(3, 32, 3, padding=1, **cfg)
        self.cr_blocks = ["conv1"]
        for i, n_layers in enumerate(self.layers):
            in_c, out_c = self.channels[i]
            self.add_module(f"conv_res_block{i + 1}", self.make_conv_res_block(in_c, out_c, n_layers, **cfg))
            self.cr_blocks.append(f"conv_res_block{i + 1}")
        self.norm_eval = norm_eval
        self._freeze_stages()

    def forward(self, x):
        outs = []
        for i, name in enumerate(self.cr_blocks):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return [getattr(self, self.cr_blocks[i]) for i in range(max(self.frozen_stages, 0))]

    @staticmethod
    def make_conv_res_block(in_channels: int, out_channels: int, res_repeat: int, conv_cfg=None,
                            norm_cfg=dict(type="BN", requires_grad=True),
                            act_cfg=dict(type="LeakyReLU", negative_slope=0.1)) -> nn.Sequential:  # noqa: B006
        """A stride-2 3x3 conv (``conv``) then ``res_repeat`` residual blocks (``res0``, ``res1``...)."""
        cfg = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        model = nn.Sequential()
        model.add_module("conv", ConvModule(in_channels, out_channels, 3, stride=2, padding=1, **cfg))
        for idx in range(res_repeat):
            model.add_module(f"res{idx}", ResBlock(out_channels, **cfg))
        return model
