"""DaViT (Ding et al., 2022): dual attention vision transformer. Each block pairs a
spatial block (self-attention among the tokens of each window) with a channel
block (attention among channel groups, over all tokens: the global view), both
preceded by a depthwise-conv position encoding.

Module names follow MMPretrain 1.x (``patch_embed``, ``stages.i.blocks.j.
{spatial_block,channel_block}.{cpe1,norm1,attn,cpe2,norm2,ffn}``,
``stages.i.downsample``, ``norm{i}``) so its checkpoints load unchanged.
"""

from copy import deepcopy
from typing import Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import activation_checkpoint, build_conv_layer, build_norm_layer
from loomcv.model.bricks.transformer import FFN, AdaptivePadding, PatchEmbed, to_2tuple
from loomcv.validation import check

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone
from .swin_transformer import ShiftWindowMSA


class DaViTWindowMSA(BaseModule):
    """Multi-head self-attention inside each window, without a relative position
    bias (the conv position encodings of the block carry position)."""

    def __init__(self, embed_dims: int, window_size, num_heads: int, qkv_bias: bool = True,
                 qk_scale: Optional[float] = None, attn_drop: float = 0., proj_drop: float = 0., init_cfg=None):
        super().__init__(init_cfg)
        check(embed_dims % num_heads == 0, self,
              f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.window_size, self.num_heads = embed_dims, window_size, num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x``: (num_windows*B, N, C); ``mask``: (num_windows, N, N) additive, or None."""
        batch_windows, n, c = x.shape
        qkv = self.qkv(x).reshape(batch_windows, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn_mask = None
        if mask is not None:
            num_windows = mask.shape[0]
            q, k, v = (t.reshape(-1, num_windows, self.num_heads, n, t.shape[-1]) for t in (q, k, v))
            attn_mask = mask.unsqueeze(1).to(q.dtype)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=self.scale,
                                             dropout_p=self.attn_drop if self.training else 0.0)
        out = out.reshape(batch_windows, self.num_heads, n, -1).transpose(1, 2).reshape(batch_windows, n, c)
        return self.proj_drop(self.proj(out))


class ConvPosEnc(BaseModule):
    """Adds a depthwise conv of the token map to the tokens (position encoding)."""

    def __init__(self, embed_dims: int, kernel_size: int = 3, init_cfg=None):
        super().__init__(init_cfg)
        self.proj = nn.Conv2d(embed_dims, embed_dims, kernel_size, padding=kernel_size // 2, groups=embed_dims)

    def forward(self, x: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        batch, length, channels = x.shape
        h, w = size
        if length != h * w:
            raise ValueError(f"ConvPosEnc: {length} tokens do not form the given {h}x{w} map")
        feat = self.proj(x.transpose(1, 2).reshape(batch, channels, h, w))
        return x + feat.flatten(2).transpose(1, 2)


class DaViTDownSample(BaseModule):
    """LayerNorm on the tokens, then a strided conv on the map (``projection``);
    'same'/'corner' padding makes maps the stride does not divide fit."""

    def __init__(self, in_channels: int, out_channels: int, conv_type: str = "Conv2d", kernel_size=2, stride=2,
                 padding: Union[int, str] = "same", dilation=1, bias: bool = True,
                 norm_cfg: Optional[Mapping] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.out_channels = out_channels
        stride = kernel_size if stride is None else stride
        kernel_size, stride, dilation = to_2tuple(kernel_size), to_2tuple(stride), to_2tuple(dilation)
        self.adaptive_padding = None
        if isinstance(padding, str):
            self.adaptive_padding = AdaptivePadding(kernel_size, stride, dilation, padding)
            padding = 0
        self.projection = build_conv_layer(dict(type=conv_type), in_channels, out_channels, kernel_size=kernel_size,
                                           stride=stride, padding=to_2tuple(padding), dilation=dilation, bias=bias)
        self.norm = build_norm_layer(norm_cfg, in_channels)[1] if norm_cfg is not None else None

    def forward(self, x: torch.Tensor, input_size: Tuple[int, int]):
        h, w = input_size
        batch, length, channels = x.shape
        if length != h * w:
            raise ValueError(f"DaViTDownSample: {length} tokens do not form the given {h}x{w} map")
        if self.norm is not None:
            x = self.norm(x)
        # MMPretrain pads the token tensor itself; padding the map is what 'same' means
        x = x.reshape(batch, h, w, channels).permute(0, 3, 1, 2).contiguous()
        if self.adaptive_padding is not None:
            x = self.adaptive_padding(x)
        x = self.projection(x)
        return x.flatten(2).transpose(1, 2), (x.size(2), x.size(3))


class ChannelAttention(BaseModule):
    """Attention among the channels of each head: the (d x d) map ``softmax(k^T v)``
    (keys scaled) mixes the channels of the queries at every token."""

    def __init__(self, embed_dims: int, num_heads: int = 8, qkv_bias: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        check(embed_dims % num_heads == 0, self,
              f"embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = self.head_dims ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, n, _ = x.shape
        qkv = self.qkv(x).reshape(batch, n, 3, self.num_heads, self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B, heads, N, d)
        attention = ((k * self.scale).transpose(-1, -2) @ v).softmax(dim=-1)  # (B, heads, d, d)
        x = (attention @ q.transpose(-1, -2)).transpose(-1, -2)  # (B, heads, N, d)
        return self.proj(x.transpose(1, 2).reshape(batch, n, self.embed_dims))


def _ffn(embed_dims, ffn_ratio, drop_path, ffn_cfgs):
    return FFN(**{"embed_dims": embed_dims, "feedforward_channels": int(embed_dims * ffn_ratio), "num_fcs": 2,
                  "ffn_drop": 0, "dropout_layer": dict(type="DropPath", drop_prob=drop_path),
                  "act_cfg": dict(type="GELU"), **ffn_cfgs})


class _DualBlockHalf(BaseModule):
    """cpe1 -> x + attn(norm1(x)) -> cpe2 -> x + ffn(norm2(x)); subclasses build ``attn``."""

    def _attend(self, x, hw_shape):
        raise NotImplementedError  # pragma: no cover

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        def inner(x):
            x = self.cpe1(x, hw_shape)
            x = x + self._attend(self.norm1(x), hw_shape)
            x = self.cpe2(x, hw_shape)
            return self.ffn(self.norm2(x), identity=x)

        return activation_checkpoint(inner, x, enabled=self.with_cp and x.requires_grad)


class ChannelBlock(_DualBlockHalf):
    """The channel-attention half of a DaViT block."""

    def __init__(self, embed_dims: int, num_heads: int, ffn_ratio: float = 4., qkv_bias: bool = False,
                 drop_path: float = 0., ffn_cfgs: Mapping = dict(), norm_cfg: Mapping = dict(type="LN"),
                 with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.cpe1 = ConvPosEnc(embed_dims, kernel_size=3)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ChannelAttention(embed_dims, num_heads=num_heads, qkv_bias=qkv_bias)
        self.cpe2 = ConvPosEnc(embed_dims, kernel_size=3)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = _ffn(embed_dims, ffn_ratio, drop_path, ffn_cfgs)

    def _attend(self, x, hw_shape):
        return self.attn(x)


class SpatialBlock(_DualBlockHalf):
    """The window-attention half of a DaViT block (windows never shift)."""

    def __init__(self, embed_dims: int, num_heads: int, window_size: int = 7, ffn_ratio: float = 4.,
                 qkv_bias: bool = True, drop_path: float = 0., pad_small_map: bool = False,
                 attn_cfgs: Mapping = dict(), ffn_cfgs: Mapping = dict(), norm_cfg: Mapping = dict(type="LN"),
                 with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.cpe1 = ConvPosEnc(embed_dims, kernel_size=3)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(**{"embed_dims": embed_dims, "num_heads": num_heads, "shift_size": 0,
                                      "window_size": window_size,
                                      "dropout_layer": dict(type="DropPath", drop_prob=drop_path),
                                      "qkv_bias": qkv_bias, "pad_small_map": pad_small_map,
                                      "window_msa": DaViTWindowMSA, **attn_cfgs})
        self.cpe2 = ConvPosEnc(embed_dims, kernel_size=3)
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = _ffn(embed_dims, ffn_ratio, drop_path, ffn_cfgs)

    def _attend(self, x, hw_shape):
        return self.attn(x, hw_shape)


class DaViTBlock(BaseModule):
    """A spatial block then a channel block (the channel block never checkpoints, as MMPretrain)."""

    def __init__(self, embed_dims: int, num_heads: int, window_size: int = 7, ffn_ratio: float = 4.,
                 qkv_bias: bool = True, drop_path: float = 0., pad_small_map: bool = False,
                 attn_cfgs: Mapping = dict(), ffn_cfgs: Mapping = dict(), norm_cfg: Mapping = dict(type="LN"),
                 with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        self.spatial_block = SpatialBlock(embed_dims, num_heads, window_size=window_size, ffn_ratio=ffn_ratio,
                                          qkv_bias=qkv_bias, drop_path=drop_path, pad_small_map=pad_small_map,
                                          attn_cfgs=attn_cfgs, ffn_cfgs=ffn_cfgs, norm_cfg=norm_cfg,
                                          with_cp=with_cp)
        self.channel_block = ChannelBlock(embed_dims, num_heads, ffn_ratio=ffn_ratio, qkv_bias=qkv_bias,
                                          drop_path=drop_path, ffn_cfgs=ffn_cfgs, norm_cfg=norm_cfg, with_cp=False)

    def forward(self, x: torch.Tensor, hw_shape) -> torch.Tensor:
        return self.channel_block(self.spatial_block(x, hw_shape), hw_shape)


class DaViTBlockSequence(BaseModule):
    """``depth`` DaViT blocks, then (``downsample=True``) a :class:`DaViTDownSample`
    to twice the width."""

    def __init__(self, embed_dims: int, depth: int, num_heads: int, window_size: int = 7, ffn_ratio: float = 4.,
                 qkv_bias: bool = True, downsample: bool = False, downsample_cfg: Mapping = dict(),
                 drop_paths: Union[float, Sequence[float]] = 0., block_cfgs: Union[Mapping, Sequence] = dict(),
                 with_cp: bool = False, pad_small_map: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(drop_paths, Sequence):
            drop_paths = [drop_paths] * depth
        if not isinstance(block_cfgs, Sequence):
            block_cfgs = [deepcopy(block_cfgs) for _ in range(depth)]
        self.embed_dims = embed_dims
        self.blocks = nn.ModuleList(DaViTBlock(**{
            "embed_dims": embed_dims, "num_heads": num_heads, "window_size": window_size, "ffn_ratio": ffn_ratio,
            "qkv_bias": qkv_bias, "drop_path": drop_paths[i], "with_cp": with_cp, "pad_small_map": pad_small_map,
            **block_cfgs[i]}) for i in range(depth))
        self.downsample = DaViTDownSample(**{"in_channels": embed_dims, "out_channels": 2 * embed_dims,
                                             "norm_cfg": dict(type="LN"), **downsample_cfg}) if downsample else None

    def forward(self, x: torch.Tensor, in_shape, do_downsample: bool = True):
        for block in self.blocks:
            x = block(x, in_shape)
        if self.downsample is not None and do_downsample:
            return self.downsample(x, in_shape)
        return x, in_shape

    @property
    def out_channels(self) -> int:
        return self.downsample.out_channels if self.downsample is not None else self.embed_dims


@MODELS.register_module()
class DaViT(BaseBackbone):
    """DaViT.

    Args:
        arch: 'tiny', 'small', 'base', 'large', 'huge', 'giant' (or their first
            letters), or a dict with ``embed_dims``, ``depths`` and ``num_heads``.
        patch_size: stride of the 7x7 patch-embedding conv ('same' padding).
        window_size: of the spatial attention. With ``pad_small_map=False``
            (classification) every stage map must be at least one window
            (224 px for the default 7); True pads smaller maps.
        ffn_ratio / qkv_bias / drop_path_rate: of every block (stochastic depth
            rises linearly over all blocks).
        out_after_downsample: output each stage after its downsample layer.
        norm_cfg: the norm of each output (``norm{i}``; None: no norm).
        stage_cfgs: extra arguments of each :class:`DaViTBlockSequence`.
        frozen_stages: freeze the patch embedding and stages ``0..frozen_stages``
            (and the norms of their outputs); -1 freezes nothing.
        norm_eval: keep BN layers (if any) in eval mode while training.
        out_indices: stages to output as (B, C, H, W) maps.
        with_cp: activation checkpointing in the spatial blocks.
    """

    arch_zoo = {
        **dict.fromkeys(["t", "tiny"], dict(embed_dims=96, depths=[1, 1, 3, 1], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(["s", "small"], dict(embed_dims=96, depths=[1, 1, 9, 1], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(["b", "base"], dict(embed_dims=128, depths=[1, 1, 9, 1], num_heads=[4, 8, 16, 32])),
        **dict.fromkeys(["l", "large"], dict(embed_dims=192, depths=[1, 1, 9, 1], num_heads=[6, 12, 24, 48])),
        **dict.fromkeys(["h", "huge"], dict(embed_dims=256, depths=[1, 1, 9, 1], num_heads=[8, 16, 32, 64])),
        **dict.fromkeys(["g", "giant"], dict(embed_dims=384, depths=[1, 1, 12, 3], num_heads=[12, 24, 48, 96])),
    }

    def __init__(self, arch: Union[str, Mapping] = "t", patch_size=4, in_channels: int = 3, window_size: int = 7,
                 ffn_ratio: float = 4., qkv_bias: bool = True, drop_path_rate: float = 0.1,
                 out_after_downsample: bool = False, pad_small_map: bool = False,
                 norm_cfg: Optional[Mapping] = dict(type="LN"), stage_cfgs: Union[Mapping, Sequence] = dict(),
                 frozen_stages: int = -1, norm_eval: bool = False, out_indices: Union[int, Sequence[int]] = (3,),
                 with_cp: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        settings = select_arch(self, arch, self.arch_zoo, ("embed_dims", "depths", "num_heads"))
        self.arch_settings = settings
        self.embed_dims, self.depths = settings["embed_dims"], list(settings["depths"])
        self.num_heads = list(settings["num_heads"])
        self.num_layers = len(self.depths)
        check(self.num_layers > 0 and len(self.num_heads) == self.num_layers, self,
              f"arch depths ({self.depths}) and num_heads ({self.num_heads}) must be non-empty and equally long")
        if isinstance(stage_cfgs, Sequence):
            check(len(stage_cfgs) == self.num_layers, self,
                  f"stage_cfgs needs one dict per stage ({self.num_layers}), got {len(stage_cfgs)}")
        self.out_indices = normalize_out_indices(self, out_indices, self.num_layers)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, self.num_layers - 1)
        self.out_after_downsample, self.norm_eval = out_after_downsample, norm_eval

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.patch_embed = PatchEmbed(in_channels=in_channels, embed_dims=self.embed_dims, conv_type="Conv2d",
                                      kernel_size=7, stride=patch_size, padding="same", norm_cfg=dict(type="LN"))
        self.stages = nn.ModuleList()
        widths, first = [self.embed_dims], 0
        for i, (depth, num_heads) in enumerate(zip(self.depths, self.num_heads)):
            stage_cfg = stage_cfgs[i] if isinstance(stage_cfgs, Sequence) else deepcopy(stage_cfgs)
            stage = DaViTBlockSequence(**{
                "embed_dims": widths[-1], "depth": depth, "num_heads": num_heads, "window_size": window_size,
                "ffn_ratio": ffn_ratio, "qkv_bias": qkv_bias, "downsample": i < self.num_layers - 1,
                "drop_paths": rates[first:first + depth], "with_cp": with_cp, "pad_small_map": pad_small_map,
                **stage_cfg})
            self.stages.append(stage)
            first += depth
            widths.append(stage.out_channels)
        self.num_features = widths[:-1]
        # an output taken after the downsample has the next stage's width
        self.out_widths = [s.out_channels if out_after_downsample else s.embed_dims for s in self.stages]
        for i in self.out_indices:
            norm = build_norm_layer(norm_cfg, self.out_widths[i])[1] if norm_cfg is not None else nn.Identity()
            self.add_module(f"norm{i}", norm)
        self.feat_dim = self.out_widths[self.out_indices[-1]] if self.out_indices else self.out_widths[-1]
        self._freeze_stages()

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        return [self.patch_embed, *self.stages[:self.frozen_stages + 1],
                *(getattr(self, f"norm{i}") for i in self.out_indices if i <= self.frozen_stages)]

    def forward(self, x: torch.Tensor):
        x, hw_shape = self.patch_embed(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(x, hw_shape, do_downsample=self.out_after_downsample)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(x)
                outs.append(out.view(-1, *hw_shape, self.out_widths[i]).permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None and not self.out_after_downsample:
                x, hw_shape = stage.downsample(x, hw_shape)
        return tuple(outs)
