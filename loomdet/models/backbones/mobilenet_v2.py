"""loomcls' MobileNetV2 under MMDetection's arguments and state-dict layout.

Same network and the same ``out_indices`` meaning (0..6 the seven stages,
7 the final 1x1 conv) as loomcls'. What differs in MMDetection, and is added
here:

* each inverted residual block names its convs ``expand_conv``,
  ``depthwise_conv``, ``linear_conv`` (MMDetection's ``InvertedResidual``)
  where MMPretrain numbers them inside ``conv`` -- the blocks are rebuilt from
  loomcls' MobileNetV3 block, which has MMDetection's names;
* defaults ``out_indices=(1, 2, 4, 7)``; ``pretrained=`` (deprecated) accepted;
* ``frozen_stages >= 0`` freezes ``conv1``'s parameters but leaves its
  BatchNorm statistics updating (MMDetection does not put it in eval mode).
"""

import torch.nn as nn

from loomcls.models.backbones.mobilenet_v2 import MobileNetV2 as ClsMobileNetV2
from loomcls.models.backbones.mobilenet_v3 import InvertedResidual
from loomcv.model.bricks import make_divisible
from loomdet.registry import MODELS
from .pretrained import DEFAULT_BACKBONE_INIT, resolve_init_cfg


@MODELS.register_module()
class MobileNetV2(ClsMobileNetV2):
    """MobileNetV2 with MMDetection 3.x's arguments and keys (see the module docstring)."""

    def __init__(self, widen_factor=1., out_indices=(1, 2, 4, 7), frozen_stages=-1, conv_cfg=None,
                 norm_cfg=dict(type="BN"), act_cfg=dict(type="ReLU6"), norm_eval=False, with_cp=False,
                 pretrained=None, init_cfg=None) -> None:  # noqa: B006
        init_cfg = resolve_init_cfg("MobileNetV2", pretrained, init_cfg, [dict(c) for c in DEFAULT_BACKBONE_INIT])
        super().__init__(widen_factor=widen_factor, out_indices=out_indices, frozen_stages=frozen_stages,
                         conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, norm_eval=norm_eval,
                         with_cp=with_cp, init_cfg=init_cfg)
        in_channels = make_divisible(32 * widen_factor, 8)
        for i, (expand_ratio, channels, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channels * widen_factor, 8)
            blocks = []
            for j in range(num_blocks):
                blocks.append(InvertedResidual(in_channels, out_channels,
                                               mid_channels=int(round(in_channels * expand_ratio)),
                                               stride=stride if j == 0 else 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                               act_cfg=act_cfg, with_cp=with_cp))
                in_channels = out_channels
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f"layer{i}")
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False
