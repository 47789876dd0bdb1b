"""loomcls' ResNet under MMDetection's arguments and state-dict layout.

The network, its blocks and its keys are loomcls' own (``conv1``/``bn1``,
``layer1..4``, ``downsample.0/1``). What MMDetection's ``ResNet`` does
differently is added here, and only here:

* defaults: ``out_indices=(0, 1, 2, 3)``, ``norm_eval=True``, ``stem_channels``
  following ``base_channels``; ``pretrained=`` (deprecated) is accepted;
* ``dcn``/``stage_with_dcn``/``plugins`` are accepted when unused (deformable
  convs and plugins need ops loomdet does not have);
* zero-init of the last norm of each block only when neither ``init_cfg``
  nor ``pretrained`` is given (MMDetection's rule);
* the deep stem is plain ``conv, bn, relu`` x3 (``stem.0.weight``, ``stem.1.*``)
  instead of ConvModules, and with ``avg_down`` every projection shortcut
  starts with an average pool, stride 1 included (``downsample.1`` is the conv).
"""

import torch.nn as nn

from loomcls.models.backbones.resnet import BasicBlock, Bottleneck, ResLayer
from loomcls.models.backbones.resnet import ResNet as ClsResNet
from loomcv.model import BaseModule
from loomcv.model.bricks import build_conv_layer, build_norm_layer
from loomcv.model.weight_init import constant_init
from loomdet.registry import MODELS
from .pretrained import DEFAULT_BACKBONE_INIT, resolve_init_cfg


class _DetResLayer(ResLayer):
    """MMDetection pools every projection shortcut when ``avg_down`` (a 1x1 pool at stride 1)."""

    pool_every_shortcut = True


@MODELS.register_module()
class ResNet(ClsResNet):
    """ResNet with MMDetection 3.x's arguments (see the module docstring for what differs)."""

    def __init__(self, depth, in_channels=3, stem_channels=None, base_channels=64, num_stages=4, strides=(1, 2, 2, 2),
                 dilations=(1, 1, 1, 1), out_indices=(0, 1, 2, 3), style="pytorch", deep_stem=False, avg_down=False,
                 frozen_stages=-1, conv_cfg=None, norm_cfg=dict(type="BN", requires_grad=True), norm_eval=True,
                 dcn=None, stage_with_dcn=(False, False, False, False), plugins=None, with_cp=False,
                 zero_init_residual=True, pretrained=None, init_cfg=None) -> None:  # noqa: B006
        name = type(self).__name__
        if dcn is not None or any(stage_with_dcn):
            raise ValueError(f"{name}: dcn/stage_with_dcn need deformable convolution, which loomdet does not have "
                             "(no compiled ops); leave dcn=None")
        if plugins is not None:
            raise ValueError(f"{name}: plugins (context/attention blocks inside the bottlenecks) are not "
                             "supported; leave plugins=None")
        if len(strides) != num_stages or len(dilations) != num_stages:
            raise ValueError(f"{name}: strides {tuple(strides)} and dilations {tuple(dilations)} need exactly "
                             f"num_stages={num_stages} values")
        # MMDetection zero-inits the residual branches only under its default initialization
        self._mmdet_zero_init = zero_init_residual and pretrained is None and init_cfg is None
        init_cfg = resolve_init_cfg(name, pretrained, init_cfg, [dict(c) for c in DEFAULT_BACKBONE_INIT])
        super().__init__(depth=depth, in_channels=in_channels,
                         stem_channels=base_channels if stem_channels is None else stem_channels,
                         base_channels=base_channels, num_stages=num_stages, strides=strides, dilations=dilations,
                         out_indices=out_indices, style=style, deep_stem=deep_stem, avg_down=avg_down,
                         frozen_stages=frozen_stages, conv_cfg=conv_cfg, norm_cfg=norm_cfg, norm_eval=norm_eval,
                         with_cp=with_cp, zero_init_residual=zero_init_residual, init_cfg=init_cfg)
        self.dcn, self.stage_with_dcn, self.plugins = dcn, stage_with_dcn, plugins

    def make_res_layer(self, **kwargs):
        return _DetResLayer(**kwargs)

    def _make_stem_layer(self, in_channels, stem_channels):
        if not self.deep_stem:
            return super()._make_stem_layer(in_channels, stem_channels)
        half = stem_channels // 2
        layers = []
        for cin, cout, stride in ((in_channels, half, 2), (half, half, 1), (half, stem_channels, 1)):
            layers += [build_conv_layer(self.conv_cfg, cin, cout, 3, stride=stride, padding=1, bias=False),
                       build_norm_layer(self.norm_cfg, cout)[1], nn.ReLU(inplace=True)]
        self.stem = nn.Sequential(*layers)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def init_weights(self):
        BaseModule.init_weights(self)
        if self._mmdet_zero_init:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)


@MODELS.register_module()
class ResNetV1d(ResNet):
    """ResNet with a deep stem and average-pooled shortcuts (Bag of Tricks, He et al., 2019)."""

    def __init__(self, **kwargs):
        super().__init__(deep_stem=True, avg_down=True, **kwargs)
