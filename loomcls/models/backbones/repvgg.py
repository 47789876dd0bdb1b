"""RepVGG (Ding et al., 2021): a VGG-style stack of 3x3 conv blocks that trains with
parallel 3x3, 1x1 and BN-identity branches and deploys as one 3x3 conv per block.

Arch names (A0-A2, B0-B3, the grouped B*g2/B*g4, D2se with squeeze-excite,
yolox-pai-small), arguments and module names (``stem``, ``stage_1``..``stage_4``,
``branch_3x3``/``branch_1x1`` with ``conv``/``norm``, ``branch_norm``,
``branch_reparam`` after deploy, ``se_layer``, ``ppf``) follow MMPretrain 1.x,
so its training-time and deploy checkpoints load unchanged.
"""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule, SELayer, activation_checkpoint, build_activation_layer, \
    build_conv_layer, build_norm_layer

from ..utils.arch import check_frozen_stages, normalize_out_indices, select_arch
from ..utils.reparam import fuse_bn_shortcut, fuse_conv_bn, pad_kernel, switch_block_to_deploy
from .base_backbone import BaseBackbone


class RepVGGBlock(BaseModule):
    """``act(se(3x3 conv-BN + 1x1 conv-BN + BN(x)))``; the BN shortcut only when shapes allow.

    After :meth:`switch_to_deploy` the three branches are one 3x3 conv with bias (``branch_reparam``).
    """

    def __init__(self, in_channels, out_channels, stride=1, padding=1, dilation=1, groups=1, padding_mode="zeros",
                 se_cfg=None, with_cp=False, conv_cfg=None, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"),
                 deploy=False, init_cfg=None):
        super().__init__(init_cfg)
        if se_cfg is not None and not isinstance(se_cfg, dict):
            raise TypeError(f"RepVGGBlock: se_cfg must be a dict or None, got {se_cfg!r}")
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.padding, self.dilation, self.groups, self.padding_mode = padding, dilation, groups, padding_mode
        self.se_cfg, self.with_cp, self.deploy = se_cfg, with_cp, deploy
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        if deploy:
            self.branch_reparam = self._reparam_conv()
        else:
            same_shape = out_channels == in_channels and stride == 1 and padding == dilation
            self.branch_norm = build_norm_layer(norm_cfg, in_channels)[1] if same_shape else None
            self.branch_3x3 = self._conv_bn(3, dilation=dilation, padding=padding)
            self.branch_1x1 = self._conv_bn(1)
        self.se_layer = SELayer(channels=out_channels, **se_cfg) if se_cfg is not None else None
        self.act = build_activation_layer(act_cfg)

    def _reparam_conv(self):
        return build_conv_layer(self.conv_cfg, self.in_channels, self.out_channels, kernel_size=3,
                                stride=self.stride, padding=self.padding, dilation=self.dilation,
                                groups=self.groups, bias=True, padding_mode=self.padding_mode)

    def _conv_bn(self, kernel_size, dilation=1, padding=0):
        branch = nn.Sequential()
        branch.add_module("conv", build_conv_layer(self.conv_cfg, self.in_channels, self.out_channels, kernel_size,
                                                   stride=self.stride, dilation=dilation, padding=padding,
                                                   groups=self.groups, bias=False))
        branch.add_module("norm", build_norm_layer(self.norm_cfg, self.out_channels)[1])
        return branch

    def forward(self, x):
        def inner(x):
            if self.deploy:
                out = self.branch_reparam(x)
            else:
                out = self.branch_3x3(x) + self.branch_1x1(x)
                if self.branch_norm is not None:
                    out = out + self.branch_norm(x)
            return self.se_layer(out) if self.se_layer is not None else out

        return self.act(activation_checkpoint(inner, x, enabled=self.with_cp))

    def reparameterize(self):
        """(kernel, bias) of the single 3x3 conv equal to the three branches (BN in eval mode)."""
        w3, b3 = fuse_conv_bn(self.branch_3x3.conv.weight, self.branch_3x3.norm)
        w1, b1 = fuse_conv_bn(self.branch_1x1.conv.weight, self.branch_1x1.norm)
        weight, bias = w3 + pad_kernel(w1, 3), b3 + b1
        if self.branch_norm is not None:
            wn, bn = fuse_bn_shortcut(self.branch_norm, self.groups, 3, w3)
            weight, bias = weight + wn, bias + bn
        return weight, bias

    def switch_to_deploy(self):
        """Replace the branches by its equivalent 3x3 conv (needs BN norms)."""
        switch_block_to_deploy(self, ("branch_3x3", "branch_1x1", "branch_norm"))


class MTSPPF(BaseModule):
    """YOLOX-PAI's spatial pyramid pooling: 1x1 conv, three chained max-pools, concat, 1x1 conv."""

    def __init__(self, in_channels, out_channels, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"),
                 kernel_size=5):
        super().__init__()
        hidden = in_channels // 2
        self.conv1 = ConvModule(in_channels, hidden, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(hidden * 4, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size, stride=1, padding=kernel_size // 2)

    def forward(self, x):
        x = self.conv1(x)
        y1 = self.maxpool(x)
        y2 = self.maxpool(y1)
        return self.conv2(torch.cat([x, y1, y2, self.maxpool(y2)], dim=1))


_GROUPWISE_LAYERS = range(2, 27, 2)
_G2 = {layer: 2 for layer in _GROUPWISE_LAYERS}
_G4 = {layer: 4 for layer in _GROUPWISE_LAYERS}


def _arch(num_blocks, width_factor, group_layer_map=None, se_cfg=None, **extra):
    return dict(num_blocks=num_blocks, width_factor=width_factor, group_layer_map=group_layer_map,
                se_cfg=se_cfg, **extra)


@MODELS.register_module()
class RepVGG(BaseBackbone):
    """RepVGG.

    Args:
        arch: a name from ``arch_settings`` ('A0' ... 'D2se', 'yolox-pai-small') or a dict with
            num_blocks, width_factor, group_layer_map, se_cfg (and optionally stem_channels).
        base_channels: stage i has ``base_channels * 2**i * width_factor[i]`` channels.
        out_indices / strides / dilations: per stage (4 stages).
        frozen_stages: -1 freezes nothing, 0 the stem, n the stem and the first n stages.
        deploy: build the single-conv inference form directly (load deploy checkpoints).
        norm_eval: keep BN layers in eval mode while training.
        add_ppf: an MTSPPF block after the last stage (YOLOX-PAI).
    """

    arch_settings = {
        "A0": _arch([2, 4, 14, 1], [0.75, 0.75, 0.75, 2.5]),
        "A1": _arch([2, 4, 14, 1], [1, 1, 1, 2.5]),
        "A2": _arch([2, 4, 14, 1], [1.5, 1.5, 1.5, 2.75]),
        "B0": _arch([4, 6, 16, 1], [1, 1, 1, 2.5], stem_channels=64),
        "B1": _arch([4, 6, 16, 1], [2, 2, 2, 4]),
        "B1g2": _arch([4, 6, 16, 1], [2, 2, 2, 4], _G2),
        "B1g4": _arch([4, 6, 16, 1], [2, 2, 2, 4], _G4),
        "B2": _arch([4, 6, 16, 1], [2.5, 2.5, 2.5, 5]),
        "B2g2": _arch([4, 6, 16, 1], [2.5, 2.5, 2.5, 5], _G2),
        "B2g4": _arch([4, 6, 16, 1], [2.5, 2.5, 2.5, 5], _G4),
        "B3": _arch([4, 6, 16, 1], [3, 3, 3, 5]),
        "B3g2": _arch([4, 6, 16, 1], [3, 3, 3, 5], _G2),
        "B3g4": _arch([4, 6, 16, 1], [3, 3, 3, 5], _G4),
        "D2se": _arch([8, 14, 24, 1], [2.5, 2.5, 2.5, 5], se_cfg=dict(ratio=16, divisor=1)),
        "yolox-pai-small": _arch([3, 5, 7, 3], [1, 1, 1, 1], stem_channels=32),
    }
    essential_keys = ("num_blocks", "width_factor", "group_layer_map", "se_cfg")

    def __init__(self, arch, in_channels=3, base_channels=64, out_indices=(3,), strides=(2, 2, 2, 2),
                 dilations=(1, 1, 1, 1), frozen_stages=-1, conv_cfg=None, norm_cfg=dict(type="BN"),
                 act_cfg=dict(type="ReLU"), with_cp=False, deploy=False, norm_eval=False, add_ppf=False,
                 init_cfg=[dict(type="Kaiming", layer=["Conv2d"]),
                           dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])]):
        super().__init__(init_cfg)
        name = type(self).__name__
        # arch names are case-sensitive in MMPretrain ('B1g2'); accept any case
        zoo = {k.lower(): v for k, v in self.arch_settings.items()}
        arch = select_arch(name, arch, zoo, self.essential_keys)
        num_stages = len(arch["num_blocks"])
        if not len(arch["width_factor"]) == len(strides) == len(dilations) == num_stages:
            raise ConfigError(f"{name}: num_blocks, width_factor, strides and dilations need one entry per stage, "
                              f"got {arch['num_blocks']}, {arch['width_factor']}, {strides}, {dilations}")
        group_map = arch["group_layer_map"]
        if group_map is not None and max(group_map) > sum(arch["num_blocks"]):
            raise ConfigError(f"{name}: group_layer_map names block {max(group_map)} but the arch has only "
                              f"{sum(arch['num_blocks'])} blocks")
        self.arch, self.base_channels, self.in_channels = arch, base_channels, in_channels
        self.out_indices = normalize_out_indices(name, out_indices, num_stages)
        self.strides, self.dilations, self.deploy = strides, dilations, deploy
        self.frozen_stages = check_frozen_stages(name, frozen_stages, num_stages)
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.with_cp, self.norm_eval = with_cp, norm_eval
        common = dict(se_cfg=arch["se_cfg"], with_cp=with_cp, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                      act_cfg=act_cfg, deploy=deploy)

        channels = min(arch.get("stem_channels", 64), int(base_channels * arch["width_factor"][0]))
        self.stem = RepVGGBlock(in_channels, channels, stride=2, **common)
        self.stages = []
        block_index = 1  # MMPretrain counts blocks from 1 across stages for group_layer_map
        for i, num_blocks in enumerate(arch["num_blocks"]):
            out_channels = int(base_channels * 2 ** i * arch["width_factor"][i])
            blocks = []
            for j in range(num_blocks):
                groups = group_map.get(block_index, 1) if group_map is not None else 1
                blocks.append(RepVGGBlock(channels, out_channels, stride=strides[i] if j == 0 else 1,
                                          padding=dilations[i], dilation=dilations[i], groups=groups, **common))
                channels = out_channels
                block_index += 1
            self.add_module(f"stage_{i + 1}", nn.Sequential(*blocks))
            self.stages.append(f"stage_{i + 1}")
        self.ppf = MTSPPF(channels, channels, norm_cfg=norm_cfg, act_cfg=act_cfg) if add_ppf else nn.Identity()
        self._freeze_stages()

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage_name in enumerate(self.stages):
            x = getattr(self, stage_name)(x)
            if i == len(self.stages) - 1:
                x = self.ppf(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        return [self.stem] + [getattr(self, f"stage_{i + 1}") for i in range(self.frozen_stages)]

    def switch_to_deploy(self):
        """Fold every block's branches into one conv; outputs are unchanged in eval mode."""
        for module in self.modules():
            if isinstance(module, RepVGGBlock):
                module.switch_to_deploy()
        self.deploy = True
