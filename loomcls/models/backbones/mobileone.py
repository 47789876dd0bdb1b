"""MobileOne (Vasu et al., 2023): depthwise + pointwise blocks that train with
several over-parameterized conv-BN branches, a 1x1 "scale" branch and a BN
identity, and deploy as one conv each.

Arch names ``s0``-``s4``, arguments and module names (``stage0``,
``stage1``..``stage4``, ``branch_conv_list``, ``branch_scale``, ``branch_norm``,
``branch_reparam``, ``se``) follow MMPretrain 1.x so its checkpoints load.
"""

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import SELayer, build_activation_layer, build_conv_layer, build_norm_layer

from ..utils.arch import check_frozen_stages, normalize_out_indices, select_arch
from ..utils.reparam import fuse_bn_shortcut, fuse_conv_bn, pad_kernel, switch_block_to_deploy
from .base_backbone import BaseBackbone


class MobileOneBlock(BaseModule):
    """``act(se(sum of num_convs kxk conv-BN + 1x1 conv-BN (k > 1) + BN(x) (same shape)))``."""

    def __init__(self, in_channels, out_channels, kernel_size, num_convs, stride=1, padding=1, dilation=1,
                 groups=1, se_cfg=None, conv_cfg=None, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"),
                 deploy=False, init_cfg=None):
        super().__init__(init_cfg)
        if se_cfg is not None and not isinstance(se_cfg, dict):
            raise TypeError(f"MobileOneBlock: se_cfg must be a dict or None, got {se_cfg!r}")
        self.se = SELayer(channels=out_channels, **se_cfg) if se_cfg is not None else nn.Identity()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.num_conv_branches, self.stride, self.padding = num_convs, stride, padding
        self.dilation, self.groups, self.deploy = dilation, groups, deploy
        self.se_cfg, self.conv_cfg, self.norm_cfg, self.act_cfg = se_cfg, conv_cfg, norm_cfg, act_cfg
        if deploy:
            self.branch_reparam = self._reparam_conv()
        else:
            same_shape = out_channels == in_channels and stride == 1
            self.branch_norm = build_norm_layer(norm_cfg, in_channels)[1] if same_shape else None
            self.branch_scale = self._conv_bn(1) if kernel_size > 1 else None
            self.branch_conv_list = nn.ModuleList(
                self._conv_bn(kernel_size, padding=padding, dilation=dilation) for _ in range(num_convs))
        self.act = build_activation_layer(act_cfg)

    def _reparam_conv(self):
        return build_conv_layer(self.conv_cfg, self.in_channels, self.out_channels, self.kernel_size,
                                stride=self.stride, padding=self.padding, dilation=self.dilation,
                                groups=self.groups, bias=True)

    def _conv_bn(self, kernel_size, dilation=1, padding=0):
        branch = nn.Sequential()
        branch.add_module("conv", build_conv_layer(self.conv_cfg, self.in_channels, self.out_channels, kernel_size,
                                                   stride=self.stride, padding=padding, dilation=dilation,
                                                   groups=self.groups, bias=False))
        branch.add_module("norm", build_norm_layer(self.norm_cfg, self.out_channels)[1])
        return branch

    def forward(self, x):
        if self.deploy:
            out = self.branch_reparam(x)
        else:
            out = self.branch_norm(x) if self.branch_norm is not None else 0
            if self.branch_scale is not None:
                out = out + self.branch_scale(x)
            for branch in self.branch_conv_list:
                out = out + branch(x)
        return self.act(self.se(out))

    def reparameterize(self):
        """(kernel, bias) of the one conv equal to all branches (BN in eval mode)."""
        fused = [fuse_conv_bn(b.conv.weight, b.norm) for b in self.branch_conv_list]
        weight = sum(w for w, _ in fused)
        bias = sum(b for _, b in fused)
        if self.branch_scale is not None:
            ws, bs = fuse_conv_bn(self.branch_scale.conv.weight, self.branch_scale.norm)
            weight, bias = weight + pad_kernel(ws, self.kernel_size), bias + bs
        if self.branch_norm is not None:
            wn, bn = fuse_bn_shortcut(self.branch_norm, self.groups, self.kernel_size, weight)
            weight, bias = weight + wn, bias + bn
        return weight, bias

    def switch_to_deploy(self):
        """Replace the branches by their equivalent conv (needs BN norms)."""
        switch_block_to_deploy(self, ("branch_conv_list", "branch_scale", "branch_norm"))


@MODELS.register_module()
class MobileOne(BaseBackbone):
    """MobileOne.

    Args:
        arch: 's0'..'s4' or a dict of four-entry lists num_blocks, width_factor,
            num_conv_branches, num_se_blocks (the last blocks of a stage get SE).
        out_indices: stages to return (0-3).
        frozen_stages: -1 freezes nothing, 0 the stem (``stage0``), n the stem and n stages.
        se_cfg: SELayer arguments for the blocks with SE.
        deploy: build the single-conv inference form directly.
        norm_eval: keep BN layers in eval mode while training.
    """

    arch_zoo = {
        "s0": dict(num_blocks=[2, 8, 10, 1], width_factor=[0.75, 1.0, 1.0, 2.0],
                   num_conv_branches=[4, 4, 4, 4], num_se_blocks=[0, 0, 0, 0]),
        "s1": dict(num_blocks=[2, 8, 10, 1], width_factor=[1.5, 1.5, 2.0, 2.5],
                   num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
        "s2": dict(num_blocks=[2, 8, 10, 1], width_factor=[1.5, 2.0, 2.5, 4.0],
                   num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
        "s3": dict(num_blocks=[2, 8, 10, 1], width_factor=[2.0, 2.5, 3.0, 4.0],
                   num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 0, 0]),
        "s4": dict(num_blocks=[2, 8, 10, 1], width_factor=[3.0, 3.5, 3.5, 4.0],
                   num_conv_branches=[1, 1, 1, 1], num_se_blocks=[0, 0, 5, 1]),
    }
    essential_keys = ("num_blocks", "width_factor", "num_conv_branches", "num_se_blocks")
    base_channels = (64, 128, 256, 512)

    def __init__(self, arch, in_channels=3, out_indices=(3,), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), se_cfg=dict(ratio=16), deploy=False,
                 norm_eval=False, init_cfg=[dict(type="Kaiming", layer=["Conv2d"]),
                                            dict(type="Constant", val=1, layer=["_BatchNorm"])]):
        super().__init__(init_cfg)
        name = type(self).__name__
        self.arch = select_arch(name, arch, self.arch_zoo, self.essential_keys)
        for key, value in self.arch.items():
            if not isinstance(value, (list, tuple)) or len(value) != 4:
                raise ConfigError(f"{name}: arch[{key!r}] must be a list of 4 entries (one per stage), got {value!r}")
        for i, (blocks, num_se) in enumerate(zip(self.arch["num_blocks"], self.arch["num_se_blocks"])):
            if num_se > blocks:
                raise ConfigError(f"{name}: stage {i} has {blocks} blocks but num_se_blocks asks for {num_se}")
        self.in_channels, self.deploy, self.norm_eval = in_channels, deploy, norm_eval
        self.frozen_stages = check_frozen_stages(name, frozen_stages, 4)
        self.out_indices = normalize_out_indices(name, out_indices, 4)
        self.conv_cfg, self.norm_cfg, self.act_cfg, self.se_cfg = conv_cfg, norm_cfg, act_cfg, se_cfg

        channels = min(64, int(self.base_channels[0] * self.arch["width_factor"][0]))
        self.stage0 = MobileOneBlock(in_channels, channels, kernel_size=3, num_convs=1, stride=2,
                                     conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, deploy=deploy)
        self.in_planes = channels
        self.stages = []
        for i, num_blocks in enumerate(self.arch["num_blocks"]):
            planes = int(self.base_channels[i] * self.arch["width_factor"][i])
            self.add_module(f"stage{i + 1}", self._make_stage(planes, num_blocks, self.arch["num_se_blocks"][i],
                                                              self.arch["num_conv_branches"][i]))
            self.stages.append(f"stage{i + 1}")
        self._freeze_stages()

    def _make_stage(self, planes, num_blocks, num_se, num_conv_branches):
        common = dict(num_convs=num_conv_branches, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                      act_cfg=self.act_cfg, deploy=self.deploy)
        blocks = []
        for i in range(num_blocks):
            se_cfg = self.se_cfg if i >= num_blocks - num_se else None
            # a depthwise 3x3 block, then a pointwise 1x1 block
            blocks.append(MobileOneBlock(self.in_planes, self.in_planes, kernel_size=3, stride=2 if i == 0 else 1,
                                         padding=1, groups=self.in_planes, se_cfg=se_cfg, **common))
            blocks.append(MobileOneBlock(self.in_planes, planes, kernel_size=1, stride=1, padding=0, se_cfg=se_cfg,
                                         **common))
            self.in_planes = planes
        return nn.Sequential(*blocks)

    def forward(self, x):
        x = self.stage0(x)
        outs = []
        for i, stage_name in enumerate(self.stages):
            x = getattr(self, stage_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        return [self.stage0] + [getattr(self, f"stage{i + 1}") for i in range(self.frozen_stages)]

    def switch_to_deploy(self):
        """Fold every block's branches into one conv; outputs are unchanged in eval mode."""
        for module in self.modules():
            if isinstance(module, MobileOneBlock):
                module.switch_to_deploy()
        self.deploy = True
