"""ConvModule: conv, norm and activation in a configurable order.

Attribute names match MMCV (``conv``, the norm under its abbreviation such as
``bn``/``gn``, ``activate``, ``padding_layer``) so state-dict keys do too.
"""

import inspect
import warnings
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from loomcv.registry import MODELS

from ..weight_init import constant_init, kaiming_init
from .activation import build_activation_layer
from .conv import build_conv_layer
from .norm import build_norm_layer
from .padding import build_padding_layer

# activations whose constructor has no ``inplace`` argument
_NO_INPLACE = ("Tanh", "PReLU", "Sigmoid", "HSigmoid", "Swish", "GELU", "Clamp", "Softplus")


@MODELS.register_module()
class ConvModule(nn.Module):
    """Conv + norm + activation. ``bias='auto'`` adds a conv bias only without a norm layer.

    ``order`` is a permutation of ('conv', 'norm', 'act'); ``padding_mode`` other
    than 'zeros'/'circular' (e.g. 'reflect') uses a separate padding layer.
    """

    _abbr_ = "conv_block"

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1, padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1, groups: int = 1,
                 bias: Union[bool, str] = "auto", conv_cfg: Optional[Dict] = None,
                 norm_cfg: Optional[Dict] = None, act_cfg: Optional[Dict] = dict(type="ReLU"),
                 inplace: bool = True, with_spectral_norm: bool = False,
                 padding_mode: str = "zeros", order: Sequence[str] = ("conv", "norm", "act")):
        super().__init__()
        order = tuple(order)
        if len(order) != 3 or set(order) != {"conv", "norm", "act"}:
            raise ValueError(f"ConvModule order must be a permutation of ('conv', 'norm', 'act'), "
                             f"got {order!r}")
        if bias != "auto" and not isinstance(bias, bool):
            raise TypeError(f"ConvModule bias must be 'auto' or a bool, got {bias!r}")
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.inplace, self.with_spectral_norm, self.order = inplace, with_spectral_norm, order
        self.with_norm = norm_cfg is not None
        self.with_activation = act_cfg is not None
        if bias == "auto":
            bias = not self.with_norm
        self.with_bias = bias

        self.with_explicit_padding = padding_mode not in ("zeros", "circular")
        if self.with_explicit_padding:
            self.padding_layer = build_padding_layer(dict(type=padding_mode), padding)
        conv_padding = 0 if self.with_explicit_padding else padding
        extra = {} if self.with_explicit_padding or padding_mode == "zeros" else dict(
            padding_mode=padding_mode)
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size,
                                     stride=stride, padding=conv_padding, dilation=dilation,
                                     groups=groups, bias=bias, **extra)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = self.conv.kernel_size, self.conv.stride
        self.padding, self.dilation = padding, self.conv.dilation
        self.transposed, self.output_padding = self.conv.transposed, self.conv.output_padding
        self.groups = self.conv.groups
        if with_spectral_norm:
            self.conv = nn.utils.spectral_norm(self.conv)

        if self.with_norm:
            channels = out_channels if order.index("norm") > order.index("conv") else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, channels)
            self.add_module(self.norm_name, norm)
            if self.with_bias and isinstance(norm, (_BatchNorm, _InstanceNorm)):
                warnings.warn("ConvModule: a conv bias before batch/instance norm has no effect", stacklevel=2)
        else:
            self.norm_name = None

        if self.with_activation:
            act_cfg_ = dict(act_cfg)
            act_type = act_cfg_.get("type")
            if isinstance(act_type, type):  # a class, as pure-Python configs give it
                takes_inplace = "inplace" in inspect.signature(act_type).parameters
            else:
                takes_inplace = act_type not in _NO_INPLACE
            if takes_inplace:
                act_cfg_.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act_cfg_)
        self.init_weights()

    @property
    def norm(self) -> Optional[nn.Module]:
        return getattr(self, self.norm_name) if self.norm_name else None

    def init_weights(self) -> None:
        """Kaiming for the conv (unless it brings its own init), ones/zeros for the norm."""
        if not hasattr(self.conv, "init_weights"):
            if self.with_activation and self.act_cfg.get("type") == "LeakyReLU":
                nonlinearity, a = "leaky_relu", self.act_cfg.get("negative_slope", 0.01)
            else:
                nonlinearity, a = "relu", 0
            kaiming_init(self.conv, a=a, nonlinearity=nonlinearity)
        if self.with_norm:
            constant_init(self.norm, 1, bias=0)

    def forward(self, x: torch.Tensor, activate: bool = True, norm: bool = True) -> torch.Tensor:
        for layer in self.order:
            if layer == "conv":
                if self.with_explicit_padding:
                    x = self.padding_layer(x)
                x = self.conv(x)
            elif layer == "norm" and norm and self.with_norm:
                x = self.norm(x)
            elif layer == "act" and activate and self.with_activation:
                x = self.activate(x)
        return x


@MODELS.register_module()
class DepthwiseSeparableConvModule(nn.Module):
    """A depthwise ConvModule (groups=in_channels) followed by a 1x1 pointwise ConvModule.

    ``dw_*``/``pw_*`` configs default ('default') to ``norm_cfg``/``act_cfg``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Union[int, Tuple[int, int]],
                 stride: Union[int, Tuple[int, int]] = 1, padding: Union[int, Tuple[int, int]] = 0,
                 dilation: Union[int, Tuple[int, int]] = 1, norm_cfg: Optional[Dict] = None,
                 act_cfg: Optional[Dict] = dict(type="ReLU"), dw_norm_cfg="default",
                 dw_act_cfg="default", pw_norm_cfg="default", pw_act_cfg="default", **kwargs):
        super().__init__()
        if "groups" in kwargs:
            raise TypeError("DepthwiseSeparableConvModule sets groups itself; do not pass 'groups'")
        pick = lambda value, default: default if value == "default" else value  # noqa: E731
        self.depthwise_conv = ConvModule(
            in_channels, in_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=in_channels, norm_cfg=pick(dw_norm_cfg, norm_cfg),
            act_cfg=pick(dw_act_cfg, act_cfg), **kwargs)
        self.pointwise_conv = ConvModule(
            in_channels, out_channels, 1, norm_cfg=pick(pw_norm_cfg, norm_cfg),
            act_cfg=pick(pw_act_cfg, act_cfg), **kwargs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))
