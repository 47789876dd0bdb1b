"""Building blocks configured by name: conv, norm, activation, padding layers and composites."""

from .activation_checkpoint import activation_checkpoint
from .activation import GELU, Clamp, HSigmoid, Swish, build_activation_layer
from .conv import Conv2dAdaptivePadding, build_conv_layer
from .conv_module import ConvModule, DepthwiseSeparableConvModule
from .drop import Dropout, DropPath, drop_path
from .norm import build_norm_layer, infer_abbr, is_norm
from .padding import build_padding_layer
from .se_layer import SELayer, make_divisible
from .transformer import (FFN, AdaptivePadding, LayerScale, MultiheadAttention, PatchEmbed, PatchMerging,
                          build_dropout, resize_pos_embed, to_2tuple)

__all__ = [
    "build_conv_layer", "build_norm_layer", "build_activation_layer", "build_padding_layer",
    "infer_abbr", "is_norm", "ConvModule", "DepthwiseSeparableConvModule", "DropPath", "Dropout",
    "drop_path", "SELayer", "make_divisible", "GELU", "Swish", "HSigmoid", "Clamp",
    "FFN", "AdaptivePadding", "LayerScale", "MultiheadAttention", "PatchEmbed", "PatchMerging",
    "build_dropout", "resize_pos_embed", "to_2tuple", "activation_checkpoint",
    "Conv2dAdaptivePadding",
]
