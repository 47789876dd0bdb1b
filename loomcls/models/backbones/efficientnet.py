"""EfficientNet (Tan & Le, 2019) and EfficientNet-EdgeTPU: a base network of
inverted-residual blocks with squeeze-excite (or, EdgeTPU, fused "edge residual"
blocks), scaled in width and depth by the ``arch`` coefficients.

Module names follow MMPretrain 1.x (``layers.0`` stem, ``layers.N.M`` blocks with
``expand_conv``/``depthwise_conv``/``se``/``linear_conv`` or ``conv1``/``conv2``, the
final 1x1 conv last) and convolutions pad like TensorFlow ('SAME', via
``Conv2dAdaptivePadding``), so the converted TF checkpoints load and agree.
"""

import copy
import math
from typing import List, Sequence

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, DropPath, SELayer, activation_checkpoint, make_divisible
from loomcv.validation import check

from ..utils.arch import drop_path_rates
from .base_backbone import BaseBackbone
from .mobilenet_v3 import InvertedResidual


class EdgeResidual(BaseModule):
    """Fused-MBConv: one full kxk conv expanding to ``mid_channels`` (in place of 1x1
    expand + depthwise), optional squeeze-excite, 1x1 linear projection; identity
    shortcut when stride is 1, widths match and ``with_residual``."""

    def __init__(self, in_channels, out_channels, mid_channels, kernel_size=3, stride=1, se_cfg=None,
                 with_residual=True, conv_cfg=None, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"),
                 drop_path_rate=0., with_cp=False, init_cfg=None):
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f"EdgeResidual: stride must be 1 or 2, got {stride!r}")
        self.with_cp, self.with_se = with_cp, se_cfg is not None
        self.with_residual = stride == 1 and in_channels == out_channels and with_residual
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        self.conv1 = ConvModule(in_channels, mid_channels, kernel_size, stride=stride, padding=kernel_size // 2,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        if self.with_se:
            self.se = SELayer(**se_cfg)
        self.conv2 = ConvModule(mid_channels, out_channels, 1, conv_cfg=None, norm_cfg=norm_cfg, act_cfg=None)

    def _inner(self, x):
        out = self.conv1(x)
        if self.with_se:
            out = self.se(out)
        out = self.conv2(out)
        return x + self.drop_path(out) if self.with_residual else out

    def forward(self, x):
        return activation_checkpoint(self._inner, x, enabled=self.with_cp and x.requires_grad)


def model_scaling(layer_setting: List[List[list]], arch_setting: Sequence[float]) -> List[List[list]]:
    """The base layer table widened by ``arch_setting[0]`` and deepened by ``arch_setting[1]``.

    Widths are multiplied and rounded to multiples of 8. For depth, the middle
    layers are first cut wherever the output width changes; each piece is
    truncated or extended (repeating its last block) to ``ceil(depth * len)``
    blocks; a piece whose first block has stride 1 is then joined to the
    previous layer again (except the first piece). Stem and head stay one layer.
    """
    width, depth = arch_setting[0], arch_setting[1]
    table = copy.deepcopy(layer_setting)
    for layer in table:
        for block in layer:
            block[1] = make_divisible(block[1] * width, 8)
    pieces = []
    for layer in table[1:-1]:
        start = 0
        for i in range(1, len(layer) + 1):
            if i == len(layer) or layer[i][1] != layer[i - 1][1]:
                pieces.append(layer[start:i])
                start = i
    merged = [table[0]]
    for i, piece in enumerate(pieces):
        count = int(math.ceil(depth * len(piece)))
        blocks = piece[:count] if count <= len(piece) else copy.deepcopy(piece) + [piece[-1]] * (count - len(piece))
        if blocks[0][3] == 1 and i != 0:
            merged[-1] = merged[-1] + blocks
        else:
            merged.append(list(blocks))
    merged.append(table[-1])
    return merged


@MODELS.register_module()
class EfficientNet(BaseBackbone):
    """EfficientNet B0-B8, L2 and EdgeTPU S/M/L.

    Args:
        arch: one of ``arch_settings`` ('b0'..'b8', 'l2', 'es', 'em', 'el').
        drop_path_rate: stochastic depth, rising linearly over the blocks.
        out_indices: layers to output: 0 the stem, 1-5 the block layers, 6 the
            final 1x1 conv (the default).
        frozen_stages: freeze ``layers[0:frozen_stages]`` (0: nothing).
        conv_cfg: TensorFlow-style 'SAME' padding by default, as the published
            weights expect.
        norm_cfg / act_cfg: BN (eps 1e-3) and Swish by default.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
    """

    # per block: kernel size, out channels, SE ratio, stride, expand ratio, block type
    # (-1: plain conv (stem/head), 0: InvertedResidual, 1: EdgeResidual); one list per layer
    layer_settings = {
        "b": [[[3, 32, 0, 2, 0, -1]],
              [[3, 16, 4, 1, 1, 0]],
              [[3, 24, 4, 2, 6, 0], [3, 24, 4, 1, 6, 0]],
              [[5, 40, 4, 2, 6, 0], [5, 40, 4, 1, 6, 0]],
              [[3, 80, 4, 2, 6, 0], [3, 80, 4, 1, 6, 0], [3, 80, 4, 1, 6, 0],
               [5, 112, 4, 1, 6, 0], [5, 112, 4, 1, 6, 0], [5, 112, 4, 1, 6, 0]],
              [[5, 192, 4, 2, 6, 0], [5, 192, 4, 1, 6, 0], [5, 192, 4, 1, 6, 0], [5, 192, 4, 1, 6, 0],
               [3, 320, 4, 1, 6, 0]],
              [[1, 1280, 0, 1, 0, -1]]],
        "e": [[[3, 32, 0, 2, 0, -1]],
              [[3, 24, 0, 1, 3, 1]],
              [[3, 32, 0, 2, 8, 1], [3, 32, 0, 1, 8, 1]],
              [[3, 48, 0, 2, 8, 1], [3, 48, 0, 1, 8, 1], [3, 48, 0, 1, 8, 1], [3, 48, 0, 1, 8, 1]],
              [[5, 96, 0, 2, 8, 0], [5, 96, 0, 1, 8, 0], [5, 96, 0, 1, 8, 0], [5, 96, 0, 1, 8, 0],
               [5, 96, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0], [5, 144, 0, 1, 8, 0],
               [5, 144, 0, 1, 8, 0]],
              [[5, 192, 0, 2, 8, 0], [5, 192, 0, 1, 8, 0]],
              [[1, 1280, 0, 1, 0, -1]]],
    }
    # width multiplier, depth multiplier, native resolution
    arch_settings = {
        "b0": (1.0, 1.0, 224), "b1": (1.0, 1.1, 240), "b2": (1.1, 1.2, 260), "b3": (1.2, 1.4, 300),
        "b4": (1.4, 1.8, 380), "b5": (1.6, 2.2, 456), "b6": (1.8, 2.6, 528), "b7": (2.0, 3.1, 600),
        "b8": (2.2, 3.6, 672), "l2": (4.3, 5.3, 800), "es": (1.0, 1.0, 224), "em": (1.0, 1.1, 240),
        "el": (1.2, 1.4, 300),
    }

    def __init__(self, arch="b0", drop_path_rate=0., out_indices=(6,), frozen_stages=0,
                 conv_cfg=dict(type="Conv2dAdaptivePadding"), norm_cfg=dict(type="BN", eps=1e-3),
                 act_cfg=dict(type="Swish"), norm_eval=False, with_cp=False,
                 init_cfg=(dict(type="Kaiming", layer="Conv2d"),
                           dict(type="Constant", layer=["_BatchNorm", "GroupNorm"], val=1))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        if arch not in self.arch_settings:
            raise KeyError(f"EfficientNet: arch must be one of {list(self.arch_settings)}, got {arch!r}")
        self.arch, self.arch_setting = arch, self.arch_settings[arch]
        base_table = self.layer_settings["b" if arch == "l2" else arch[0]]
        num_layers = len(base_table)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        for index in out_indices:
            if index not in range(num_layers):
                raise ValueError(f"EfficientNet: out_indices entries must be in range(0, {num_layers}), "
                                 f"got {index!r}")
        if frozen_stages not in range(num_layers + 1):
            raise ValueError(f"EfficientNet: frozen_stages must be in range(0, {num_layers + 1}), "
                             f"got {frozen_stages!r}")
        self.drop_path_rate, self.out_indices, self.frozen_stages = drop_path_rate, out_indices, frozen_stages
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.norm_eval, self.with_cp = norm_eval, with_cp

        self.layer_setting = model_scaling(base_table, self.arch_setting)
        stem, head = self.layer_setting[0][0], self.layer_setting[-1][0]
        self.in_channels = make_divisible(stem[1], 8)
        self.out_channels = head[1]
        self.layers = nn.ModuleList([ConvModule(
            3, self.in_channels, stem[0], stride=stem[3], padding=stem[0] // 2, conv_cfg=conv_cfg,
            norm_cfg=norm_cfg, act_cfg=act_cfg)])
        self.make_layer()
        self.layers.append(ConvModule(
            self.in_channels, self.out_channels, head[0], stride=head[3], padding=head[0] // 2,
            conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg))
        self.layer_channels = [self.layer_setting[i][-1][1] for i in range(len(self.layer_setting))]
        check(len(self.layers) == num_layers, self, f"arch {arch} scaled to {len(self.layers)} layers, "
                                                    f"expected {num_layers}")
        self.feat_dim = self.layer_channels[out_indices[-1]] if out_indices else self.out_channels
        self._freeze_stages()

    def make_layer(self):
        """The block layers between stem and head, built from the scaled table."""
        middle = self.layer_setting[1:-1]
        rates = drop_path_rates(self.drop_path_rate, sum(len(layer) for layer in middle))
        index = 0
        for layer_cfg in middle:
            blocks = []
            for i, (kernel_size, out_channels, se_ratio, stride, expand_ratio, block_type) in enumerate(layer_cfg):
                out_channels = make_divisible(out_channels, 8)
                with_residual = True
                if block_type == 1 and i > 0 and expand_ratio == 3:
                    # a repeated first EdgeTPU block: expands 4x and has no shortcut (as the TF model)
                    with_residual, expand_ratio = False, 4
                mid_channels = int(self.in_channels * expand_ratio)
                se_cfg = None if se_ratio <= 0 else dict(
                    channels=mid_channels, ratio=expand_ratio * se_ratio, divisor=1,
                    act_cfg=(self.act_cfg, dict(type="Sigmoid")))
                common = dict(in_channels=self.in_channels, out_channels=out_channels, mid_channels=mid_channels,
                              kernel_size=kernel_size, stride=stride, se_cfg=se_cfg, conv_cfg=self.conv_cfg,
                              norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, drop_path_rate=rates[index],
                              with_cp=self.with_cp)
                if block_type == 1:
                    blocks.append(EdgeResidual(with_residual=with_residual, **common))
                else:
                    blocks.append(InvertedResidual(**common))
                self.in_channels = out_channels
                index += 1
            self.layers.append(nn.Sequential(*blocks))

    def forward(self, x: torch.Tensor):
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return list(self.layers[:self.frozen_stages])
