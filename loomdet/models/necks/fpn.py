"""FPN (Lin et al., 2017): lateral 1x1 convs, top-down sums, 3x3 output convs, extra levels."""

from typing import List, Tuple, Union

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from loomcv.model import BaseModule
from loomcv.model.bricks import ConvModule
from loomdet.registry import MODELS

EXTRA_CONV_SOURCES = ("on_input", "on_lateral", "on_output")


@MODELS.register_module()
class FPN(BaseModule):
    """Feature pyramid over backbone levels ``start_level..end_level``.

    Args:
        in_channels: channels of every backbone output.
        out_channels: channels of every pyramid level.
        num_outs: pyramid levels produced; those beyond the backbone's come
            from stride-2 max-pooling or, with ``add_extra_convs``, stride-2 convs.
        start_level / end_level: backbone levels used (-1: through the last).
        add_extra_convs: False (max-pool), True (= 'on_input') or where the
            first extra conv reads from: 'on_input' (the last backbone level
            used), 'on_lateral' (its lateral) or 'on_output' (its FPN output).
        relu_before_extra_convs: ReLU before the second and later extra convs.
        no_norm_on_lateral: no norm on the lateral convs.
        conv_cfg / norm_cfg / act_cfg: of every conv.
        upsample_cfg: ``F.interpolate`` arguments of the top-down path.
    """

    def __init__(self, in_channels: List[int], out_channels: int, num_outs: int, start_level: int = 0,
                 end_level: int = -1, add_extra_convs: Union[bool, str] = False,
                 relu_before_extra_convs: bool = False, no_norm_on_lateral: bool = False, conv_cfg=None,
                 norm_cfg=None, act_cfg=None, upsample_cfg=dict(mode="nearest"),
                 init_cfg=dict(type="Xavier", layer="Conv2d", distribution="uniform")) -> None:  # noqa: B006
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, (list, tuple)):
            raise TypeError(f"FPN: in_channels must be a list of ints (one per backbone level), got {in_channels!r}")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_ins = len(in_channels)
        self.num_outs = num_outs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.no_norm_on_lateral = no_norm_on_lateral
        self.upsample_cfg = dict(upsample_cfg)
        if end_level == -1 or end_level == self.num_ins - 1:
            self.backbone_end_level = self.num_ins
            if num_outs < self.num_ins - start_level:
                raise ValueError(f"FPN: num_outs={num_outs} is fewer than the {self.num_ins - start_level} backbone "
                                 f"levels used from start_level={start_level}")
        else:
            self.backbone_end_level = end_level + 1
            if end_level >= self.num_ins:
                raise ValueError(f"FPN: end_level={end_level} but there are only {self.num_ins} inputs")
            if num_outs != end_level - start_level + 1:
                raise ValueError(f"FPN: with end_level={end_level}, num_outs must be {end_level - start_level + 1}, "
                                 f"got {num_outs}")
        self.start_level = start_level
        self.end_level = end_level
        if isinstance(add_extra_convs, str):
            if add_extra_convs not in EXTRA_CONV_SOURCES:
                raise ValueError(f"FPN: add_extra_convs must be a bool or one of {EXTRA_CONV_SOURCES}, got "
                                 f"{add_extra_convs!r}")
        elif not isinstance(add_extra_convs, bool):
            raise TypeError(f"FPN: add_extra_convs must be a bool or one of {EXTRA_CONV_SOURCES}, got "
                            f"{add_extra_convs!r}")
        elif add_extra_convs:
            add_extra_convs = "on_input"
        self.add_extra_convs = add_extra_convs

        self.lateral_convs = nn.ModuleList()
        self.fpn_convs = nn.ModuleList()
        for i in range(self.start_level, self.backbone_end_level):
            self.lateral_convs.append(ConvModule(
                self.in_channels[i], out_channels, 1, conv_cfg=conv_cfg,
                norm_cfg=norm_cfg if not self.no_norm_on_lateral else None, act_cfg=act_cfg, inplace=False))
            self.fpn_convs.append(ConvModule(out_channels, out_channels, 3, padding=1, conv_cfg=conv_cfg,
                                             norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False))
        extra_levels = num_outs - self.backbone_end_level + self.start_level
        if self.add_extra_convs and extra_levels >= 1:
            for i in range(extra_levels):
                if i == 0 and self.add_extra_convs == "on_input":
                    extra_in = self.in_channels[self.backbone_end_level - 1]
                else:
                    extra_in = out_channels
                self.fpn_convs.append(ConvModule(extra_in, out_channels, 3, stride=2, padding=1, conv_cfg=conv_cfg,
                                                 norm_cfg=norm_cfg, act_cfg=act_cfg, inplace=False))

    def forward(self, inputs: Tuple[Tensor]) -> tuple:
        """``num_outs`` maps of ``out_channels``, finest first."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f"FPN: expected {len(self.in_channels)} inputs (in_channels={self.in_channels}), got "
                             f"{len(inputs)}")
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        used_levels = len(laterals)
        for i in range(used_levels - 1, 0, -1):
            if "scale_factor" in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:], **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        outs = [self.fpn_convs[i](laterals[i]) for i in range(used_levels)]
        if self.num_outs > len(outs):
            if not self.add_extra_convs:
                for _ in range(self.num_outs - used_levels):
                    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            else:
                if self.add_extra_convs == "on_input":
                    source = inputs[self.backbone_end_level - 1]
                elif self.add_extra_convs == "on_lateral":
                    source = laterals[-1]
                else:
                    source = outs[-1]
                outs.append(self.fpn_convs[used_levels](source))
                for i in range(used_levels + 1, self.num_outs):
                    outs.append(self.fpn_convs[i](F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]))
        return tuple(outs)
