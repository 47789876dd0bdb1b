"""HRNet (Wang et al., 2019): parallel branches at 1/4, 1/8, 1/16 and 1/32 of the
input, added one per stage, that exchange information after every module
(each branch receives the sum of all branches, resampled).

Module names follow MMPretrain 1.x (``conv1``/``norm1``/``conv2``/``norm2`` stem,
``layer1``, ``transition{1,2,3}``, ``stage{2,3,4}.M.{branches,fuse_layers}``) so
its checkpoints load unchanged. The outputs are the four branch maps; pair them
with ``HRFuseScales`` for classification.
"""

from typing import List, Mapping, Optional, Sequence

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_conv_layer, build_norm_layer
from loomcv.model.weight_init import constant_init
from loomcv.validation import check_choice

from .base_backbone import BaseBackbone
from .resnet import BasicBlock, Bottleneck, ResLayer


class HRModule(BaseModule):
    """``num_branches`` parallel ResLayers, then the exchange: output ``i`` is the
    ReLU of the sum over branches ``j`` of branch ``j`` brought to branch ``i``'s
    width and size (1x1 conv + nearest upsampling from coarser branches, strided
    3x3 convs from finer ones). ``multiscale_output=False`` keeps only output 0."""

    def __init__(self, num_branches, block, num_blocks, in_channels, num_channels, multiscale_output=True,
                 with_cp=False, conv_cfg=None, norm_cfg=dict(type="BN"), block_init_cfg=None, init_cfg=None):
        super().__init__(init_cfg)
        for name, value in (("num_blocks", num_blocks), ("in_channels", in_channels),
                            ("num_channels", num_channels)):
            if len(value) != num_branches:
                raise ValueError(f"HRModule: {name} needs one entry per branch ({num_branches}), got {list(value)}")
        self.in_channels, self.num_branches = list(in_channels), num_branches
        self.multiscale_output, self.with_cp = multiscale_output, with_cp
        self.norm_cfg, self.conv_cfg = norm_cfg, conv_cfg
        self.branches = nn.ModuleList([ResLayer(
            block=block, num_blocks=num_blocks[i], in_channels=self.in_channels[i],
            out_channels=num_channels[i] * block.expansion, conv_cfg=conv_cfg, norm_cfg=norm_cfg, with_cp=with_cp,
            init_cfg=block_init_cfg) for i in range(num_branches)])
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=False)

    def _conv_bn(self, in_channels, out_channels, kernel_size, stride, padding):
        return [build_conv_layer(self.conv_cfg, in_channels, out_channels, kernel_size=kernel_size, stride=stride,
                                 padding=padding, bias=False),
                build_norm_layer(self.norm_cfg, out_channels)[1]]

    def _make_fuse_layers(self) -> Optional[nn.ModuleList]:
        if self.num_branches == 1:
            return None
        channels = self.in_channels
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = []
            for j in range(self.num_branches):
                if j > i:  # coarser: 1x1 conv to branch i's width, then upsample
                    row.append(nn.Sequential(*self._conv_bn(channels[j], channels[i], 1, 1, 0),
                                             nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")))
                elif j == i:
                    row.append(None)
                else:  # finer: i - j strided 3x3 convs, the last one changing the width
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        out_channels = channels[i] if last else channels[j]
                        layers = self._conv_bn(channels[j], out_channels, 3, 2, 1)
                        steps.append(nn.Sequential(*layers) if last else nn.Sequential(*layers, nn.ReLU(inplace=False)))
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(nn.ModuleList(row))
        return fuse_layers

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.num_branches == 1:
            return [self.branches[0](x[0])]
        x = [branch(feature) for branch, feature in zip(self.branches, x)]
        fused = []
        for i, row in enumerate(self.fuse_layers):
            total = 0
            for j, layer in enumerate(row):
                total = total + (x[j] if i == j else layer(x[j]))
            fused.append(self.relu(total))
        return fused


class HRStage(nn.Sequential):
    """A stage: HRModules applied in turn to the list of branch maps."""

    def forward(self, x: List[torch.Tensor]) -> List[torch.Tensor]:
        for module in self:
            x = module(x)
        return x


@MODELS.register_module()
class HRNet(BaseBackbone):
    """HRNet-W18..W64.

    Args:
        arch: 'w18', 'w30', 'w32', 'w40', 'w44', 'w48', 'w64' (used when ``extra``
            is None).
        extra: the four stages spelled out, ``stage1``..``stage4`` each with
            ``num_modules``, ``num_branches``, ``block`` ('BASIC'/'BOTTLENECK'),
            ``num_blocks`` and ``num_channels``.
        in_channels: input image channels.
        norm_eval / with_cp: BN in eval mode while training; activation checkpointing.
        zero_init_residual: zero the last norm of every block of stages 2-4.
        multiscale_output: False makes the last module output the finest branch only.
    """

    blocks_dict = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}
    arch_zoo = {
        f"w{w}": [[1, 1, "BOTTLENECK", (4,), (64,)],
                  [1, 2, "BASIC", (4, 4), (w, 2 * w)],
                  [4, 3, "BASIC", (4, 4, 4), (w, 2 * w, 4 * w)],
                  [3, 4, "BASIC", (4, 4, 4, 4), (w, 2 * w, 4 * w, 8 * w)]]
        for w in (18, 30, 32, 40, 44, 48, 64)
    }
    stage_keys = ("num_modules", "num_branches", "block", "num_blocks", "num_channels")

    def __init__(self, arch="w32", extra: Optional[Mapping] = None, in_channels=3, conv_cfg=None,
                 norm_cfg=dict(type="BN"), norm_eval=False, with_cp=False, zero_init_residual=False,
                 multiscale_output=True,
                 init_cfg=(dict(type="Kaiming", layer="Conv2d"),
                           dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        self.extra = self.parse_arch(arch, extra)
        self.conv_cfg, self.norm_cfg, self.norm_eval = conv_cfg, norm_cfg, norm_eval
        self.with_cp, self.zero_init_residual = with_cp, zero_init_residual

        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, 64, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, 64, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        stage1 = self.extra["stage1"]
        block = self.blocks_dict[stage1["block"]]
        channels = [c * block.expansion for c in stage1["num_channels"]]
        self.layer1 = ResLayer(block, in_channels=64, out_channels=channels[0], num_blocks=stage1["num_blocks"][0])
        for i in range(2, 5):
            cfg = self.extra[f"stage{i}"]
            block = self.blocks_dict[cfg["block"]]
            new_channels = [c * block.expansion for c in cfg["num_channels"]]
            self.add_module(f"transition{i - 1}", self._make_transition_layer(channels, new_channels))
            self.add_module(f"stage{i}", self._make_stage(cfg, new_channels,
                                                          multiscale_output=multiscale_output if i == 4 else True))
            channels = new_channels
        self.out_channels = channels if multiscale_output else channels[:1]

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def parse_arch(self, arch, extra=None) -> dict:
        """The four stage configs from ``extra`` (checked) or from the ``arch`` table."""
        if extra is None:
            check_choice(self, "arch", arch, list(self.arch_zoo))
            return {f"stage{i}": dict(zip(self.stage_keys, row)) for i, row in enumerate(self.arch_zoo[arch], 1)}
        for i in range(1, 5):
            cfg = extra.get(f"stage{i}")
            if cfg is None:
                raise KeyError(f"HRNet: extra needs stage1..stage4, missing stage{i}")
            missing = [k for k in self.stage_keys if k not in cfg]
            if missing:
                raise KeyError(f"HRNet: extra['stage{i}'] is missing {missing}")
            check_choice(self, f"extra['stage{i}']['block']", cfg["block"], list(self.blocks_dict))
            if not len(cfg["num_blocks"]) == len(cfg["num_channels"]) == cfg["num_branches"]:
                raise ValueError(f"HRNet: extra['stage{i}'] needs num_blocks and num_channels with one entry per "
                                 f"branch ({cfg['num_branches']})")
        return dict(extra)

    def _make_transition_layer(self, pre: Sequence[int], cur: Sequence[int]) -> nn.ModuleList:
        """Keep (or re-width with a 3x3 conv) the existing branches; make each new one by
        strided 3x3 convs from the coarsest existing branch."""
        layers = []
        for i, out_channels in enumerate(cur):
            if i < len(pre):
                if out_channels != pre[i]:
                    layers.append(nn.Sequential(
                        build_conv_layer(self.conv_cfg, pre[i], out_channels, kernel_size=3, stride=1, padding=1,
                                         bias=False),
                        build_norm_layer(self.norm_cfg, out_channels)[1], nn.ReLU(inplace=True)))
                else:
                    layers.append(nn.Identity())
                continue
            steps = []
            for j in range(i + 1 - len(pre)):
                width = out_channels if j == i - len(pre) else pre[-1]
                steps.append(nn.Sequential(
                    build_conv_layer(self.conv_cfg, pre[-1], width, kernel_size=3, stride=2, padding=1, bias=False),
                    build_norm_layer(self.norm_cfg, width)[1], nn.ReLU(inplace=True)))
            layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def _make_stage(self, cfg, in_channels, multiscale_output=True) -> HRStage:
        block = self.blocks_dict[cfg["block"]]
        return HRStage(*[HRModule(
            cfg["num_branches"], block, cfg["num_blocks"], in_channels, cfg["num_channels"],
            multiscale_output or i < cfg["num_modules"] - 1, with_cp=self.with_cp, norm_cfg=self.norm_cfg,
            conv_cfg=self.conv_cfg) for i in range(cfg["num_modules"])])

    def init_weights(self):
        super().init_weights()
        pretrained = any(c.get("type") == "Pretrained" for c in
                         (self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg or {}]))
        if self.zero_init_residual and not pretrained:
            for i in range(2, 5):
                for module in getattr(self, f"stage{i}").modules():
                    if isinstance(module, Bottleneck):
                        constant_init(module.norm3, 0)
                    elif isinstance(module, BasicBlock):
                        constant_init(module.norm2, 0)

    def forward(self, x: torch.Tensor):
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        features = [self.layer1(x)]
        for i in range(2, 5):
            transition = getattr(self, f"transition{i - 1}")
            inputs = [layer(features[j] if j < len(features) else features[-1]) for j, layer in enumerate(transition)]
            features = getattr(self, f"stage{i}")(inputs)
        return tuple(features)
