"""VGG (Simonyan & Zisserman, 2014): stacks of 3x3 convs separated by max pooling.

All convs and pools sit in one ``features`` Sequential and the optional fully
connected part in ``classifier``, as in MMPretrain 1.x, so checkpoint keys match.
"""

import warnings

import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import ConvModule
from loomcv.validation import check_choice

from .base_backbone import BaseBackbone


@MODELS.register_module()
class VGG(BaseBackbone):
    """VGG.

    Args:
        depth: 11, 13, 16 or 19.
        num_classes: > 0 adds the three fully connected layers (``classifier``),
            whose logits are output index ``num_stages``; needs 224x224 inputs.
        num_stages: 1 to 5; ``dilations`` per stage.
        out_indices: stages whose outputs are returned; default the classifier
            output with a classifier, else the last stage.
        frozen_stages: the first n stages are frozen (0 freezes nothing, -1 too).
        with_last_pool: keep the max pooling after the last stage.
        norm_cfg: e.g. ``dict(type='BN')`` for VGG-BN; None for plain VGG.
        norm_eval / ceil_mode: BN in eval mode while training; pooling rounding.
    """

    arch_settings = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}

    def __init__(self, depth, num_classes=-1, num_stages=5, dilations=(1, 1, 1, 1, 1), out_indices=None,
                 frozen_stages=-1, conv_cfg=None, norm_cfg=None, act_cfg=dict(type="ReLU"),
                 norm_eval=False, ceil_mode=False, with_last_pool=True,
                 init_cfg=(dict(type="Kaiming", layer=["Conv2d"]),
                           dict(type="Constant", val=1.0, layer=["_BatchNorm"]),
                           dict(type="Normal", std=0.01, layer=["Linear"]))):
        super().__init__(init_cfg=[dict(c) for c in init_cfg] if isinstance(init_cfg, tuple) else init_cfg)
        check_choice(self, "depth", depth, sorted(self.arch_settings))
        if not 1 <= num_stages <= 5:
            raise ValueError(f"VGG: num_stages must be 1 to 5, got {num_stages!r}")
        if len(dilations) < num_stages:
            raise ValueError(f"VGG: dilations needs {num_stages} values, got {dilations!r}")
        with_classifier = num_classes > 0
        if out_indices is None:
            out_indices = (num_stages,) if with_classifier else (num_stages - 1,)
        out_indices = (out_indices,) if isinstance(out_indices, int) else tuple(out_indices)
        num_outs = num_stages + int(with_classifier)
        for index in out_indices:
            if index not in range(num_outs):
                raise ValueError(f"VGG: out_indices must be in range(0, {num_outs}) "
                                 f"(num_stages={num_stages}, num_classes={num_classes}), got {index!r}")
        self.num_classes, self.out_indices, self.frozen_stages = num_classes, out_indices, frozen_stages
        self.norm_eval = norm_eval
        self.stage_blocks = self.arch_settings[depth][:num_stages]

        layers, self.range_sub_modules = [], []
        in_channels = 3
        for i, num_blocks in enumerate(self.stage_blocks):
            out_channels = 64 * 2**i if i < 4 else 512
            start = len(layers)
            dilation = dilations[i]
            with warnings.catch_warnings():  # MMPretrain keeps the conv bias even before BN
                warnings.filterwarnings("ignore", message="ConvModule: a conv bias")
                for _ in range(num_blocks):
                    layers.append(ConvModule(in_channels, out_channels, 3, padding=dilation,
                                             dilation=dilation, bias=True, conv_cfg=conv_cfg,
                                             norm_cfg=norm_cfg, act_cfg=act_cfg))
                    in_channels = out_channels
            if with_last_pool or i < num_stages - 1:
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
            self.range_sub_modules.append((start, len(layers)))
        self.features = nn.Sequential(*layers)
        if with_classifier:
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(True), nn.Dropout(),
                nn.Linear(4096, 4096), nn.ReLU(True), nn.Dropout(),
                nn.Linear(4096, num_classes))
        self._freeze_stages()

    def forward(self, x):
        outs = []
        for i, (start, end) in enumerate(self.range_sub_modules):
            for j in range(start, end):
                x = self.features[j](x)
            if i in self.out_indices:
                outs.append(x)
        if self.num_classes > 0 and len(self.range_sub_modules) in self.out_indices:
            if x.shape[1] * x.shape[2] * x.shape[3] != 512 * 7 * 7:
                raise ValueError(f"VGG with a classifier needs 512x7x7 features (224x224 inputs), "
                                 f"got {tuple(x.shape[1:])}")
            x = self.classifier(x.flatten(1))
            outs.append(x)
        return tuple(outs)

    def frozen_modules(self):
        return [module for start, end in self.range_sub_modules[:max(self.frozen_stages, 0)]
                for module in self.features[start:end]]

