"""DenseNet (Huang et al., 2017): every layer of a dense block sees the concatenated
outputs of all the layers before it; transitions halve the channels and the size.

Module names follow MMPretrain 1.x (``stem``, ``stages.N.block.M.{norm1,conv1,norm2,
conv2}``, ``transitions.N.{norm,conv}``, the last transition a plain norm + act) so
its checkpoints (converted from torchvision) load unchanged.
"""

import math
from typing import List, Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model.bricks import activation_checkpoint, build_activation_layer, build_norm_layer
from loomcv.validation import check

from ..utils.arch import check_frozen_stages, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class DenseLayer(nn.Module):
    """BN-act-1x1 conv (to ``bn_size * growth_rate``) then BN-act-3x3 conv (to
    ``growth_rate``) on the concatenation of the block's features so far."""

    def __init__(self, in_channels, growth_rate, bn_size, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"),
                 drop_rate=0., memory_efficient=False):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth_rate, kernel_size=1, stride=1, bias=False)
        self.act = build_activation_layer(act_cfg)
        self.norm2 = build_norm_layer(norm_cfg, bn_size * growth_rate)[1]
        self.conv2 = nn.Conv2d(bn_size * growth_rate, growth_rate, kernel_size=3, stride=1, padding=1, bias=False)
        self.drop_rate, self.memory_efficient = float(drop_rate), memory_efficient

    def bottleneck_fn(self, *features: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.act(self.norm1(torch.cat(features, 1))))

    def forward(self, features: List[torch.Tensor]) -> torch.Tensor:
        if not isinstance(features, (list, tuple)):
            raise TypeError(f"DenseLayer takes the list of the block's feature maps, got {type(features).__name__}")
        checkpointed = self.memory_efficient and any(f.requires_grad for f in features)
        out = activation_checkpoint(self.bottleneck_fn, *features, enabled=checkpointed)
        out = self.conv2(self.act(self.norm2(out)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class DenseBlock(nn.Module):
    """``num_layers`` DenseLayers; the output concatenates the input and every layer's output."""

    def __init__(self, num_layers, in_channels, bn_size, growth_rate, norm_cfg=dict(type="BN"),
                 act_cfg=dict(type="ReLU"), drop_rate=0., memory_efficient=False):
        super().__init__()
        self.block = nn.ModuleList([DenseLayer(
            in_channels + i * growth_rate, growth_rate=growth_rate, bn_size=bn_size, norm_cfg=norm_cfg,
            act_cfg=act_cfg, drop_rate=drop_rate, memory_efficient=memory_efficient) for i in range(num_layers)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.block:
            features.append(layer(features))
        return torch.cat(features, 1)


class DenseTransition(nn.Sequential):
    """BN, act, 1x1 conv to ``out_channels``, 2x2 average pool."""

    def __init__(self, in_channels, out_channels, norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU")):
        super().__init__()
        self.add_module("norm", build_norm_layer(norm_cfg, in_channels)[1])
        self.add_module("act", build_activation_layer(act_cfg))
        self.add_module("conv", nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, bias=False))
        self.add_module("pool", nn.AvgPool2d(kernel_size=2, stride=2))


@MODELS.register_module()
class DenseNet(BaseBackbone):
    """DenseNet-121/169/201/161.

    Args:
        arch: '121', '169', '201', '161' or a dict with ``growth_rate``,
            ``depths`` (layers per block) and ``init_channels`` (stem width).
        bn_size: the 1x1 conv of each layer widens to ``bn_size * growth_rate``.
        drop_rate: dropout on each layer's new features.
        compression_factor: a transition keeps this share of the channels.
        memory_efficient: recompute the concatenation + 1x1 conv in backward.
        out_indices: blocks to output (negative counts from the end); each output
            is taken after the block's transition.
        frozen_stages: freeze the first ``frozen_stages`` blocks with their
            transitions (0: nothing, as in MMPretrain; the stem is never frozen).
    """

    arch_settings = {
        "121": dict(growth_rate=32, depths=[6, 12, 24, 16], init_channels=64),
        "169": dict(growth_rate=32, depths=[6, 12, 32, 32], init_channels=64),
        "201": dict(growth_rate=32, depths=[6, 12, 48, 32], init_channels=64),
        "161": dict(growth_rate=48, depths=[6, 12, 36, 24], init_channels=96),
    }

    def __init__(self, arch: Union[str, Mapping] = "121", in_channels: int = 3, bn_size: int = 4,
                 drop_rate: float = 0, compression_factor: float = 0.5, memory_efficient: bool = False,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU"), out_indices: Union[int, Sequence[int]] = -1,
                 frozen_stages: int = 0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, str(arch) if isinstance(arch, int) else arch, self.arch_settings,
                               ("growth_rate", "depths", "init_channels"))
        self.growth_rate, self.depths = settings["growth_rate"], list(settings["depths"])
        self.init_channels = settings["init_channels"]
        check(0 < compression_factor <= 1, self, f"compression_factor must be in (0, 1], got {compression_factor!r}")
        self.num_stages = len(self.depths)
        self.out_indices = normalize_out_indices(self, out_indices, self.num_stages)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_stages)
        self.act = build_activation_layer(act_cfg)
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, self.init_channels, kernel_size=7, stride=2, padding=3, bias=False),
            build_norm_layer(norm_cfg, self.init_channels)[1], self.act,
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1))
        self.stages, self.transitions = nn.ModuleList(), nn.ModuleList()
        channels, self.stage_channels = self.init_channels, []
        for i, depth in enumerate(self.depths):
            self.stages.append(DenseBlock(depth, channels, bn_size, self.growth_rate, norm_cfg=norm_cfg,
                                          act_cfg=act_cfg, drop_rate=drop_rate, memory_efficient=memory_efficient))
            channels += depth * self.growth_rate
            if i < self.num_stages - 1:
                out_channels = math.floor(channels * compression_factor)
                self.transitions.append(DenseTransition(channels, out_channels, norm_cfg=norm_cfg, act_cfg=act_cfg))
                channels = out_channels
            else:  # the final norm + act, counted as the last "transition" (as the original repo)
                self.transitions.append(nn.Sequential(build_norm_layer(norm_cfg, channels)[1], self.act))
            self.stage_channels.append(channels)
        self.feat_dim = self.stage_channels[self.out_indices[-1]] if self.out_indices else channels
        self._freeze_stages()

    def forward(self, x: torch.Tensor):
        x = self.stem(x)
        outs = []
        for i in range(self.num_stages):
            x = self.transitions[i](self.stages[i](x))
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        count = max(self.frozen_stages, 0)
        return [*self.transitions[:count], *self.stages[:count]]
