"""Transformer bricks: patch embedding and merging, multi-head attention, the
feed-forward network, layer scale and position-embedding resizing.

Attribute names follow MMCV 2.x / MMPretrain 1.x (``projection``, ``qkv``,
``proj``, ``layers.0.0``, ``gamma1.weight``, ``gamma2.weight``, ``reduction``), so
their checkpoints load key for key.
"""

import math
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcv.registry import MODELS
from loomcv.validation import check_choice

from ..base_module import BaseModule
from .activation import build_activation_layer
from .conv import _layer_class, build_conv_layer
from .norm import build_norm_layer

IntPair = Union[int, Tuple[int, int]]


def to_2tuple(value: IntPair) -> Tuple[int, int]:
    """``7`` -> ``(7, 7)``; a pair stays a pair."""
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    if len(value) == 1:
        return (value[0], value[0])
    if len(value) != 2:
        raise ValueError(f"expected an int or a pair (h, w), got {value!r}")
    return value


def build_dropout(cfg: Optional[Mapping]) -> nn.Module:
    """``dict(type='DropPath'|'Dropout', drop_prob=p)``; None is the identity."""
    if cfg is None:
        return nn.Identity()
    cls, args = _layer_class(cfg, "Dropout", "dropout layer")
    return cls(**args)


def resize_pos_embed(pos_embed: torch.Tensor, src_shape: Sequence[int], dst_shape: Sequence[int],
                     mode: str = "bicubic", num_extra_tokens: int = 1) -> torch.Tensor:
    """Interpolate the patch part of a ``(1, L, C)`` position embedding from a
    ``src_shape`` grid to a ``dst_shape`` grid; the leading extra tokens (the
    class token) are kept as they are."""
    src_h, src_w = src_shape
    dst_h, dst_w = dst_shape
    if (src_h, src_w) == (dst_h, dst_w):
        return pos_embed
    if pos_embed.ndim != 3:
        raise ValueError(f"resize_pos_embed: pos_embed must be (1, L, C), got shape {tuple(pos_embed.shape)}")
    length, channels = pos_embed.shape[1:]
    if length != src_h * src_w + num_extra_tokens:
        raise ValueError(f"resize_pos_embed: pos_embed has {length} tokens, but a {src_h}x{src_w} grid plus "
                         f"{num_extra_tokens} extra token(s) needs {src_h * src_w + num_extra_tokens}; "
                         "check img_size and patch_size")
    extra, grid = pos_embed[:, :num_extra_tokens], pos_embed[:, num_extra_tokens:]
    grid = grid.reshape(1, src_h, src_w, channels).permute(0, 3, 1, 2)
    # bicubic interpolation is only implemented for float32 on some devices
    grid = F.interpolate(grid.float(), size=(dst_h, dst_w), mode=mode, align_corners=False)
    grid = grid.flatten(2).transpose(1, 2).to(pos_embed.dtype)
    return torch.cat((extra, grid), dim=1)


def _corner_or_same_pad(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Padding that lets a sliding window of ``kernel`` cover all of ``size``."""
    out = math.ceil(size / stride)
    return max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)


class AdaptivePadding(nn.Module):
    """Pad an input so that a kernel/stride pair covers it completely:
    ``'corner'`` pads bottom-right, ``'same'`` pads both sides evenly."""

    def __init__(self, kernel_size: IntPair = 1, stride: IntPair = 1, dilation: IntPair = 1,
                 padding: str = "corner"):
        super().__init__()
        check_choice(self, "padding", padding, ("same", "corner"))
        self.padding = padding
        self.kernel_size, self.stride = to_2tuple(kernel_size), to_2tuple(stride)
        self.dilation = to_2tuple(dilation)

    def get_pad_shape(self, input_shape: Sequence[int]) -> Tuple[int, int]:
        return tuple(_corner_or_same_pad(s, k, st, d) for s, k, st, d in
                     zip(input_shape, self.kernel_size, self.stride, self.dilation))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad_h, pad_w = self.get_pad_shape(x.shape[-2:])
        if not (pad_h or pad_w):
            return x
        if self.padding == "corner":
            return F.pad(x, [0, pad_w, 0, pad_h])
        return F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])


def _window(kernel_size: IntPair, stride: Optional[IntPair], dilation: IntPair, padding: Union[int, str]):
    """``(kernel, stride, dilation, padding, adaptive_padding)`` as pairs: a string padding
    ('corner'/'same') becomes an AdaptivePadding and a conv padding of 0."""
    kernel_size = to_2tuple(kernel_size)
    stride = to_2tuple(stride if stride else kernel_size)
    dilation = to_2tuple(dilation)
    adaptive = None
    if isinstance(padding, str):
        adaptive, padding = AdaptivePadding(kernel_size, stride, dilation, padding), 0
    return kernel_size, stride, dilation, to_2tuple(padding), adaptive


def _conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


class PatchEmbed(BaseModule):
    """Image -> sequence of patch tokens with a strided conv (``projection``),
    then an optional norm. ``forward`` returns ``(tokens (B, N, C), (H', W'))``.

    ``padding='corner'`` (default) pads inputs that the patch size does not
    divide; ``init_out_size`` is the token grid for ``input_size``.
    """

    def __init__(self, in_channels: int = 3, embed_dims: int = 768, conv_type: str = "Conv2d",
                 kernel_size: IntPair = 16, stride: Optional[IntPair] = None,
                 padding: Union[int, str] = "corner", dilation: IntPair = 1, bias: bool = True,
                 norm_cfg: Optional[Mapping] = None, input_size: Optional[IntPair] = None,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.embed_dims = embed_dims
        kernel_size, stride, dilation, padding, self.adaptive_padding = _window(kernel_size, stride,
                                                                               dilation, padding)
        self.projection = build_conv_layer(dict(type=conv_type), in_channels, embed_dims,
                                           kernel_size=kernel_size, stride=stride, padding=padding,
                                           dilation=dilation, bias=bias)
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if norm_cfg is not None else None
        if input_size is None:
            self.init_input_size = self.init_out_size = None
            return
        input_size = to_2tuple(input_size)
        self.init_input_size = input_size
        if self.adaptive_padding is not None:
            pads = self.adaptive_padding.get_pad_shape(input_size)
            input_size = tuple(s + p for s, p in zip(input_size, pads))
        self.init_out_size = tuple(_conv_out_size(s, k, st, p, d) for s, k, st, p, d in
                                   zip(input_size, kernel_size, stride, padding, dilation))
        if min(self.init_out_size) < 1:
            raise ValueError(f"PatchEmbed: input_size {self.init_input_size} is smaller than the patch "
                             f"(kernel_size {kernel_size}); no patch fits")

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Tuple[int, int]]:
        if self.adaptive_padding is not None:
            x = self.adaptive_padding(x)
        x = self.projection(x)
        out_size = (x.shape[2], x.shape[3])
        x = x.flatten(2).transpose(1, 2)
        if self.norm is not None:
            x = self.norm(x)
        return x, out_size


class PatchMerging(BaseModule):
    """Merge each ``kernel_size`` neighbourhood of tokens into one token:
    unfold (channel-major order, as ``nn.Unfold``), norm, then the linear
    ``reduction``. ``forward(x (B, H*W, C), (H, W))`` -> ``(x, (H', W'))``.
    ``use_post_norm=True`` (Swin V2) normalizes the reduced tokens instead."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair = 2,
                 stride: Optional[IntPair] = None, padding: Union[int, str] = "corner",
                 dilation: IntPair = 1, bias: bool = False, norm_cfg: Optional[Mapping] = dict(type="LN"),
                 use_post_norm: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.use_post_norm = use_post_norm
        kernel_size, stride, dilation, padding, self.adaptive_padding = _window(kernel_size, stride,
                                                                               dilation, padding)
        self.sampler = nn.Unfold(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
        sample_dims = kernel_size[0] * kernel_size[1] * in_channels
        norm_dims = out_channels if use_post_norm else sample_dims
        self.norm = build_norm_layer(norm_cfg, norm_dims)[1] if norm_cfg is not None else None
        self.reduction = nn.Linear(sample_dims, out_channels, bias=bias)

    def forward(self, x: torch.Tensor, input_size: Sequence[int]) -> Tuple[torch.Tensor, Tuple[int, int]]:
        batch, length, channels = x.shape
        h, w = input_size
        if length != h * w:
            raise ValueError(f"PatchMerging: {length} tokens do not form the given {h}x{w} grid")
        x = x.view(batch, h, w, channels).permute(0, 3, 1, 2)
        if self.adaptive_padding is not None:
            x = self.adaptive_padding(x)
        h, w = x.shape[-2:]
        s = self.sampler
        out_size = tuple(_conv_out_size(n, k, st, p, d) for n, k, st, p, d in
                         zip((h, w), s.kernel_size, s.stride, s.padding, s.dilation))
        x = self.sampler(x).transpose(1, 2)  # (B, H'*W', C*kh*kw)
        if self.use_post_norm:
            x = self.reduction(x)
            return (self.norm(x) if self.norm is not None else x), out_size
        if self.norm is not None:
            x = self.norm(x)
        return self.reduction(x), out_size


class LayerScale(nn.Module):
    """Per-channel learnable scale of a residual branch.

    ``param_name`` is the parameter's key: ``'weight'`` both in MMPretrain's
    attention (``gamma1.weight``) and in MMCV's FFN (``gamma2.weight``), the
    names DINOv2/DeiT III checkpoints use.
    """

    def __init__(self, dim: int, init_values: float = 1e-5, data_format: str = "channels_last",
                 param_name: str = "weight"):
        super().__init__()
        if data_format not in ("channels_last", "channels_first"):
            raise ValueError(f"LayerScale: data_format must be 'channels_last' or 'channels_first', "
                             f"got {data_format!r}")
        self.data_format, self.param_name = data_format, param_name
        self.register_parameter(param_name, nn.Parameter(torch.full((dim,), float(init_values))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = getattr(self, self.param_name)
        return x * (scale.view(-1, 1, 1) if self.data_format == "channels_first" else scale)


@MODELS.register_module()
class MultiheadAttention(BaseModule):
    """Self-attention over tokens: one ``qkv`` projection, scaled dot-product
    attention per head, the output ``proj``; then optional layer scale
    (``gamma1``) and ``dropout_layer`` (e.g. DropPath) before the caller's
    residual add. ``input_dims`` may differ from ``embed_dims``."""

    def __init__(self, embed_dims: int, num_heads: int, input_dims: Optional[int] = None,
                 attn_drop: float = 0.0, proj_drop: float = 0.0,
                 dropout_layer: Optional[Mapping] = dict(type="Dropout", drop_prob=0.0),
                 qkv_bias: bool = True, qk_scale: Optional[float] = None, proj_bias: bool = True,
                 v_shortcut: bool = False, use_layer_scale: bool = False,
                 layer_scale_init_value: float = 0.0, init_cfg=None):
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dims ({embed_dims}) must be divisible by "
                             f"num_heads ({num_heads})")
        self.input_dims = input_dims or embed_dims
        self.embed_dims, self.num_heads, self.v_shortcut = embed_dims, num_heads, v_shortcut
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale or self.head_dims ** -0.5
        self.qkv = nn.Linear(self.input_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.out_drop = build_dropout(dropout_layer)
        if use_layer_scale and not layer_scale_init_value:
            layer_scale_init_value = 1e-5
        self.gamma1 = (LayerScale(embed_dims, layer_scale_init_value) if layer_scale_init_value > 0
                       else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0,
                                             scale=self.scale)
        out = out.transpose(1, 2).reshape(batch, length, self.embed_dims)
        out = self.out_drop(self.gamma1(self.proj_drop(self.proj(out))))
        if self.v_shortcut:
            out = v.squeeze(1) + out
        return out


@MODELS.register_module()
class FFN(BaseModule):
    """Feed-forward network with an identity connection, laid out as MMCV's:
    ``layers.0`` = (Linear, act, Dropout) repeated ``num_fcs - 1`` times, then
    the last Linear (``layers.1`` for two fcs) and a Dropout; ``gamma2`` layer
    scale and ``dropout_layer`` before adding ``identity``."""

    def __init__(self, embed_dims: int = 256, feedforward_channels: int = 1024, num_fcs: int = 2,
                 act_cfg: Mapping = dict(type="ReLU", inplace=True), ffn_drop: float = 0.0,
                 dropout_layer: Optional[Mapping] = None, add_identity: bool = True, init_cfg=None,
                 layer_scale_init_value: float = 0.0):
        super().__init__(init_cfg)
        if num_fcs < 2:
            raise ValueError(f"FFN: num_fcs must be at least 2, got {num_fcs}")
        self.embed_dims, self.feedforward_channels, self.num_fcs = embed_dims, feedforward_channels, num_fcs
        layers, in_channels = [], embed_dims
        for _ in range(num_fcs - 1):
            layers.append(nn.Sequential(nn.Linear(in_channels, feedforward_channels),
                                        build_activation_layer(act_cfg), nn.Dropout(ffn_drop)))
            in_channels = feedforward_channels
        layers += [nn.Linear(feedforward_channels, embed_dims), nn.Dropout(ffn_drop)]
        self.layers = nn.Sequential(*layers)
        self.dropout_layer = build_dropout(dropout_layer)
        self.add_identity = add_identity
        self.gamma2 = (LayerScale(embed_dims, layer_scale_init_value)
                       if layer_scale_init_value > 0 else nn.Identity())

    def forward(self, x: torch.Tensor, identity: Optional[torch.Tensor] = None) -> torch.Tensor:
        out = self.dropout_layer(self.gamma2(self.layers(x)))
        if not self.add_identity:
            return out
        return (x if identity is None else identity) + out
