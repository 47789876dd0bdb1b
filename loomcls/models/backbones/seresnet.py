"""SE-ResNet (Hu et al., 2018): each bottleneck rescales its output channels by
a squeeze-and-excitation gate (``se_layer``) before adding the shortcut."""

from loomcls.registry import MODELS
from loomcv.model.bricks import SELayer
from loomcv.validation import check_positive
from .resnet import Bottleneck, ResNet


class SEBottleneck(Bottleneck):
    """A Bottleneck (grouped too, for SE-ResNeXt) with an SE gate on its residual branch."""

    def __init__(self, in_channels, out_channels, se_ratio=16, **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        self.se_layer = SELayer(out_channels, ratio=se_ratio)

    def residual(self, x):
        return self.se_layer(super().residual(x))


@MODELS.register_module()
class SEResNet(ResNet):
    """SE-ResNet: the ResNet arguments (depth 50, 101 or 152) plus ``se_ratio``,
    the SE squeeze ratio (channels // se_ratio in the gate)."""

    arch_settings = {depth: (SEBottleneck, blocks) for depth, blocks in
                     ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3)))}

    def __init__(self, depth, se_ratio=16, **kwargs):
        check_positive(self, "se_ratio", se_ratio, integer=True)
        self.se_ratio = se_ratio
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        return super().make_res_layer(se_ratio=self.se_ratio, **kwargs)
