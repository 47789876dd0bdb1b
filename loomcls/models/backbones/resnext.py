"""ResNeXt (Xie et al., 2017): ResNet whose bottleneck 3x3 conv is split into
``groups`` paths of ``width_per_group`` channels (the "32x4d" in the names)."""

from loomcls.registry import MODELS
from loomcv.validation import check_positive
from .resnet import Bottleneck, ResNet


class GroupedBottlenecks:
    """Adds ``groups`` and ``width_per_group`` to a ResNet-like backbone (ResNeXt, SE-ResNeXt)."""

    def __init__(self, depth, groups=32, width_per_group=4, **kwargs):
        check_positive(self, "groups", groups, integer=True)
        check_positive(self, "width_per_group", width_per_group, integer=True)
        self.groups, self.width_per_group = groups, width_per_group
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs):
        return super().make_res_layer(groups=self.groups, width_per_group=self.width_per_group,
                                      base_channels=self.base_channels, **kwargs)


@MODELS.register_module()
class ResNeXt(GroupedBottlenecks, ResNet):
    """ResNeXt: the ResNet arguments (depth 50, 101 or 152) plus ``groups`` and
    ``width_per_group`` of the grouped 3x3 conv in the first stage; later stages
    double the width. ``groups=1`` gives a plain ResNet."""

    arch_settings = {depth: (Bottleneck, blocks) for depth, blocks in
                     ((50, (3, 4, 6, 3)), (101, (3, 4, 23, 3)), (152, (3, 8, 36, 3)))}
