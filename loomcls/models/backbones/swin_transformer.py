"""Swin Transformer (Liu et al., 2021): attention inside local windows that
shift by half a window every other block, and patch merging between stages.

Arguments, arch names and state-dict keys follow MMPretrain 1.x
(``stages.N.blocks.M.attn.w_msa.{relative_position_bias_table,qkv,proj}``,
``norm1``/``norm2``/``ffn.layers``, ``stages.N.downsample.{norm,reduction}``,
``norm{i}`` per output), so its checkpoints load unchanged.
"""

from copy import deepcopy
from typing import Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.logging import print_log
from loomcv.model import BaseModule
from loomcv.model.bricks import (FFN, PatchEmbed, PatchMerging, activation_checkpoint, build_dropout,
                                 build_norm_layer, resize_pos_embed, to_2tuple)

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from ..utils.layer_depth import swin_layer_depth
from .base_backbone import BaseBackbone


def relative_position_index(window_size: Tuple[int, int]) -> torch.Tensor:
    """(Wh*Ww, Wh*Ww) index into the (2Wh-1)*(2Ww-1) bias table for every token pair."""
    wh, ww = window_size
    # integer index math on the CPU even under a torch.device('meta') context (meta meshgrid is slow to set up)
    ys, xs = torch.arange(wh, device="cpu"), torch.arange(ww, device="cpu")
    coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij")).flatten(1)
    rel = coords[:, :, None] - coords[:, None, :]  # 2, N, N
    return (rel[0] + wh - 1) * (2 * ww - 1) + (rel[1] + ww - 1)


class WindowMSA(BaseModule):
    """Multi-head self-attention inside each window, plus a learned bias per
    relative position (``relative_position_bias_table``, one column per head)."""

    def __init__(self, embed_dims, window_size, num_heads, qkv_bias=True, qk_scale=None, attn_drop=0.0,
                 proj_drop=0.0, init_cfg=None):
        super().__init__(init_cfg)
        if embed_dims % num_heads:
            raise ValueError(f"WindowMSA: embed_dims ({embed_dims}) must be divisible by num_heads ({num_heads})")
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.window_size = to_2tuple(window_size)
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        wh, ww = self.window_size
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), num_heads))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def init_weights(self):
        super().init_weights()
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``x``: (num_windows*B, N, C); ``mask``: (num_windows, N, N) with 0 or a large negative value."""
        batch_windows, n, c = x.shape
        qkv = self.qkv(x).reshape(batch_windows, n, 3, self.num_heads, c // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # (B_, heads, N, d)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        bias = bias.view(n, n, self.num_heads).permute(2, 0, 1)  # heads, N, N
        if mask is not None:
            num_windows = mask.shape[0]
            bias = bias.unsqueeze(0) + mask.unsqueeze(1).to(bias.dtype)  # nW, heads, N, N
            q, k, v = (t.reshape(-1, num_windows, self.num_heads, n, t.shape[-1]) for t in (q, k, v))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype),
                                             dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale)
        out = out.reshape(batch_windows, self.num_heads, n, -1).transpose(1, 2).reshape(batch_windows, n, c)
        return self.proj_drop(self.proj(out))


@MODELS.register_module()
class ShiftWindowMSA(BaseModule):
    """Window attention on a (B, H*W, C) token map, with the windows shifted by
    ``shift_size`` (cyclic roll plus a mask that keeps tokens from wrapped-around
    regions apart). Maps that windows do not tile are padded bottom-right.

    ``pad_small_map=False`` (classification) does not shift a map exactly one
    window wide and refuses maps smaller than a window; True pads them.
    """

    def __init__(self, embed_dims, num_heads, window_size, shift_size=0,
                 dropout_layer=dict(type="DropPath", drop_prob=0.0), pad_small_map=False, window_msa=WindowMSA,
                 init_cfg=None, **kwargs):
        super().__init__(init_cfg)
        if not 0 <= shift_size < window_size:
            raise ValueError(f"ShiftWindowMSA: shift_size must be in [0, window_size={window_size}), "
                             f"got {shift_size}")
        self.window_size, self.shift_size, self.pad_small_map = window_size, shift_size, pad_small_map
        self.w_msa = window_msa(embed_dims=embed_dims, num_heads=num_heads, window_size=to_2tuple(window_size),
                                **kwargs)
        self.drop = build_dropout(dropout_layer)

    def forward(self, query: torch.Tensor, hw_shape: Sequence[int]) -> torch.Tensor:
        batch, length, channels = query.shape
        h, w = hw_shape
        if length != h * w:
            raise ValueError(f"ShiftWindowMSA: {length} tokens do not form the given {h}x{w} map")
        window, shift = self.window_size, self.shift_size
        if min(h, w) == window and not self.pad_small_map:
            shift = 0  # one window covers the map: nothing to shift (as the original Swin)
        elif min(h, w) < window and not self.pad_small_map:
            raise ValueError(f"ShiftWindowMSA: the {h}x{w} feature map is smaller than window_size {window}; "
                             "set pad_small_map=True, use a larger input or a smaller window_size")
        x = query.view(batch, h, w, channels)
        pad_b, pad_r = (window - h % window) % window, (window - w % window) % window
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        hp, wp = x.shape[1], x.shape[2]
        if shift > 0:
            x = torch.roll(x, shifts=(-shift, -shift), dims=(1, 2))
        mask = self.get_attn_mask((hp, wp), window, shift, device=x.device)
        windows = self.window_partition(x, window).reshape(-1, window * window, channels)
        windows = self.w_msa(windows, mask=mask).view(-1, window, window, channels)
        x = self.window_reverse(windows, hp, wp, window)
        if shift > 0:
            x = torch.roll(x, shifts=(shift, shift), dims=(1, 2))
        x = x[:, :h, :w].reshape(batch, h * w, channels)
        return self.drop(x)

    @staticmethod
    def window_partition(x: torch.Tensor, window: int) -> torch.Tensor:
        """(B, H, W, C) -> (B * H/w * W/w, w, w, C), windows in row-major order."""
        b, h, w, c = x.shape
        x = x.view(b, h // window, window, w // window, window, c).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(-1, window, window, c)

    @staticmethod
    def window_reverse(windows: torch.Tensor, h: int, w: int, window: int) -> torch.Tensor:
        """Inverse of :meth:`window_partition`."""
        b = windows.shape[0] // ((h // window) * (w // window))
        x = windows.view(b, h // window, w // window, window, window, -1).permute(0, 1, 3, 2, 4, 5)
        return x.reshape(b, h, w, -1)

    @staticmethod
    def get_attn_mask(hw_shape, window: int, shift: int, device=None) -> Optional[torch.Tensor]:
        """(num_windows, w*w, w*w): 0 between tokens of the same region of the
        shifted map, -100 across regions (they were not neighbours before the roll)."""
        if shift <= 0:
            return None
        region = torch.zeros(1, *hw_shape, 1, device=device)
        bands = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
        label = 0
        for hs in bands:
            for ws in bands:
                region[:, hs, ws, :] = label
                label += 1
        region = ShiftWindowMSA.window_partition(region, window).view(-1, window * window)
        diff = region.unsqueeze(1) - region.unsqueeze(2)
        return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class SwinBlock(BaseModule):
    """``x + attn(norm1(x))`` then ``x + ffn(norm2(x))``; odd blocks shift their windows."""

    def __init__(self, embed_dims, num_heads, window_size=7, shift=False, ffn_ratio=4.0, drop_path=0.0,
                 pad_small_map=False, attn_cfgs=dict(), ffn_cfgs=dict(), norm_cfg=dict(type="LN"), with_cp=False,
                 init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp = with_cp
        drop = dict(type="DropPath", drop_prob=float(drop_path))
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = ShiftWindowMSA(**{**dict(embed_dims=embed_dims, num_heads=num_heads,
                                             shift_size=window_size // 2 if shift else 0, window_size=window_size,
                                             dropout_layer=drop, pad_small_map=pad_small_map), **attn_cfgs})
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(**{**dict(embed_dims=embed_dims, feedforward_channels=int(embed_dims * ffn_ratio),
                                 num_fcs=2, ffn_drop=0, dropout_layer=drop, act_cfg=dict(type="GELU")), **ffn_cfgs})

    def forward(self, x, hw_shape):
        def inner(x):
            x = x + self.attn(self.norm1(x), hw_shape)
            return self.ffn(self.norm2(x), identity=x)

        return activation_checkpoint(inner, x, enabled=self.with_cp)


class SwinBlockSequence(BaseModule):
    """One stage: ``depth`` blocks (``blocks``), then an optional PatchMerging (``downsample``)."""

    def __init__(self, embed_dims, depth, num_heads, window_size=7, downsample=False, downsample_cfg=dict(),
                 drop_paths=0.0, block_cfgs=dict(), with_cp=False, pad_small_map=False, init_cfg=None):
        super().__init__(init_cfg)
        drop_paths = list(drop_paths) if isinstance(drop_paths, Sequence) else [drop_paths] * depth
        if isinstance(block_cfgs, Mapping):
            block_cfgs = [deepcopy(block_cfgs) for _ in range(depth)]
        self.embed_dims = embed_dims
        self.blocks = nn.ModuleList(
            SwinBlock(**{**dict(embed_dims=embed_dims, num_heads=num_heads, window_size=window_size,
                                shift=i % 2 == 1, drop_path=drop_paths[i], with_cp=with_cp,
                                pad_small_map=pad_small_map), **block_cfgs[i]})
            for i in range(depth))
        self.downsample = (PatchMerging(**{**dict(in_channels=embed_dims, out_channels=2 * embed_dims,
                                                  norm_cfg=dict(type="LN")), **downsample_cfg})
                           if downsample else None)

    @property
    def out_channels(self) -> int:
        return self.downsample.out_channels if self.downsample is not None else self.embed_dims

    def forward(self, x, in_shape, do_downsample=True):
        for block in self.blocks:
            x = block(x, in_shape)
        if self.downsample is not None and do_downsample:
            return self.downsample(x, in_shape)
        return x, in_shape


@MODELS.register_module()
class SwinTransformer(BaseBackbone):
    """Swin Transformer.

    Args:
        arch: 'tiny'/'t', 'small'/'s', 'base'/'b', 'large'/'l', or a dict with
            embed_dims, depths, num_heads.
        img_size: the usual input size; with ``use_abs_pos_embed`` it sets the embedding grid.
        patch_size / window_size: 4 and 7 in the paper.
        out_indices: stages (0..3, negative from the end) whose normed maps (B, C, H, W) are returned.
        out_after_downsample: output a stage after its patch merging instead of before.
        frozen_stages: freeze the patch embedding and stages 0..n; norm_eval keeps BN layers in eval.
        pad_small_map: pad maps smaller than a window instead of refusing them (detection-style).
        stage_cfgs / patch_cfg: extra arguments for each stage / the patch embedding.
    """

    arch_zoo = {
        **dict.fromkeys(["t", "tiny"], dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(["s", "small"], dict(embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(["b", "base"], dict(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32])),
        **dict.fromkeys(["l", "large"], dict(embed_dims=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48])),
    }
    essential_keys = ("embed_dims", "depths", "num_heads")
    _version = 3  # state-dict layout version, as MMPretrain's (v1 had 'norm.', v2 had attn_mask buffers)
    num_extra_tokens = 0

    def __init__(self, arch="tiny", img_size=224, patch_size=4, in_channels=3, window_size=7, drop_rate=0.0,
                 drop_path_rate=0.1, out_indices=(3,), out_after_downsample=False, use_abs_pos_embed=False,
                 interpolate_mode="bicubic", with_cp=False, frozen_stages=-1, norm_eval=False, pad_small_map=False,
                 norm_cfg=dict(type="LN"), stage_cfgs=dict(), patch_cfg=dict(), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        settings = select_arch(name, arch, self.arch_zoo, self.essential_keys)
        self.arch_settings = settings
        self.embed_dims, self.depths, self.num_heads = settings["embed_dims"], settings["depths"], settings["num_heads"]
        if len(self.depths) != len(self.num_heads):
            raise ValueError(f"{name}: arch depths {self.depths} and num_heads {self.num_heads} differ in length")
        self.num_layers = len(self.depths)
        check_frozen_stages(name, frozen_stages, self.num_layers - 1)
        self.out_indices = normalize_out_indices(name, out_indices, self.num_layers)
        self.out_after_downsample, self.use_abs_pos_embed = out_after_downsample, use_abs_pos_embed
        self.interpolate_mode, self.frozen_stages, self.norm_eval = interpolate_mode, frozen_stages, norm_eval

        embed_cfg = dict(in_channels=in_channels, input_size=img_size, embed_dims=self.embed_dims,
                         conv_type="Conv2d", kernel_size=patch_size, stride=patch_size, norm_cfg=dict(type="LN"))
        embed_cfg.update(patch_cfg)
        self.patch_embed = PatchEmbed(**embed_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        if not pad_small_map:
            self._check_map_sizes(img_size, window_size)
        if use_abs_pos_embed:
            num_patches = self.patch_resolution[0] * self.patch_resolution[1]
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, num_patches, self.embed_dims))
            self._register_load_state_dict_pre_hook(self._prepare_abs_pos_embed)
        self._register_load_state_dict_pre_hook(self._prepare_relative_position_bias_table)
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.stages = nn.ModuleList()
        widths = [self.embed_dims]
        for i, (depth, num_heads) in enumerate(zip(self.depths, self.num_heads)):
            stage_cfg = stage_cfgs[i] if isinstance(stage_cfgs, Sequence) else deepcopy(stage_cfgs)
            stage = SwinBlockSequence(**{**dict(embed_dims=widths[-1], depth=depth, num_heads=num_heads,
                                                window_size=window_size, downsample=i < self.num_layers - 1,
                                                drop_paths=rates[:depth], with_cp=with_cp,
                                                pad_small_map=pad_small_map), **stage_cfg})
            self.stages.append(stage)
            rates = rates[depth:]
            widths.append(stage.out_channels)
        self.num_features = widths[1:] if out_after_downsample else widths[:-1]
        for i in self.out_indices:
            norm = build_norm_layer(norm_cfg, self.num_features[i])[1] if norm_cfg is not None else nn.Identity()
            self.add_module(f"norm{i}", norm)
        self._freeze_stages()

    def _check_map_sizes(self, img_size, window_size):
        """Refuse at build time an img_size whose stage maps a window does not fit (pad_small_map=False)."""
        h, w = self.patch_resolution
        for stage in range(self.num_layers):
            if min(h, w) < window_size:
                smallest = window_size * self.patch_embed.projection.stride[0] * 2 ** (self.num_layers - 1)
                raise ValueError(
                    f"{type(self).__name__}: img_size {img_size} gives a {h}x{w} feature map at stage {stage}, "
                    f"smaller than window_size {window_size}; use an img_size that keeps every stage at least "
                    f"{window_size} wide (e.g. {smallest}), "
                    "a smaller window_size, or pad_small_map=True")
            h, w = (h + 1) // 2, (w + 1) // 2

    def init_weights(self):
        super().init_weights()
        pretrained = isinstance(self.init_cfg, Mapping) and self.init_cfg.get("type") == "Pretrained"
        if self.use_abs_pos_embed and not pretrained:
            nn.init.trunc_normal_(self.absolute_pos_embed, std=0.02)

    def forward(self, x):
        x, hw_shape = self.patch_embed(x)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(self.absolute_pos_embed, self.patch_resolution, hw_shape,
                                     self.interpolate_mode, self.num_extra_tokens)
        x = self.drop_after_pos(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x, hw_shape = stage(x, hw_shape, do_downsample=self.out_after_downsample)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(x)
                outs.append(out.view(-1, *hw_shape, self.num_features[i]).permute(0, 3, 1, 2).contiguous())
            if stage.downsample is not None and not self.out_after_downsample:
                x, hw_shape = stage.downsample(x, hw_shape)
        return tuple(outs)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.patch_embed, *self.stages[:self.frozen_stages + 1]]
        return modules + [getattr(self, f"norm{i}") for i in self.out_indices if i <= self.frozen_stages]

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, *args, **kwargs):
        version = local_metadata.get("version")
        if version is None or version < 3:
            for key in list(state_dict):
                if not key.startswith(prefix):
                    continue
                if (version is None or version < 2) and key.startswith(prefix + "norm."):
                    # v1 named the last stage's output norm 'norm'
                    state_dict[key.replace(prefix + "norm.", f"{prefix}norm{self.num_layers - 1}.", 1)] = \
                        state_dict.pop(key)
                elif "attn_mask" in key:  # v2 stored the shift masks as buffers
                    del state_dict[key]
        super()._load_from_state_dict(state_dict, prefix, local_metadata, *args, **kwargs)

    def _prepare_abs_pos_embed(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "absolute_pos_embed"
        if key not in state_dict or state_dict[key].shape == self.absolute_pos_embed.shape:
            return
        ckpt = state_dict[key]
        side = int(round(ckpt.shape[1] ** 0.5))
        print_log(f"Resize the absolute_pos_embed shape from {tuple(ckpt.shape)} to "
                  f"{tuple(self.absolute_pos_embed.shape)}.", logger="current")
        state_dict[key] = resize_pos_embed(ckpt, (side, side), self.patch_resolution, self.interpolate_mode,
                                           self.num_extra_tokens)

    def _prepare_relative_position_bias_table(self, state_dict, prefix, *args, **kwargs):
        """Fit bias tables of checkpoints trained with another window size.

        The table is resized as a (2W-1)x(2W-1) grid by bicubic interpolation
        (MMPretrain uses a geometric-progression cubic fit; results differ slightly).
        """
        own = self.state_dict()
        for key, table in own.items():
            if "relative_position_bias_table" not in key or prefix + key not in state_dict:
                continue
            ckpt = state_dict[prefix + key]
            if ckpt.shape == table.shape:
                continue
            src, dst = int(round(ckpt.shape[0] ** 0.5)), int(round(table.shape[0] ** 0.5))
            grid = ckpt.t().reshape(1, -1, src, src).float()
            resized = F.interpolate(grid, size=(dst, dst), mode="bicubic", align_corners=False)
            state_dict[prefix + key] = resized.reshape(-1, dst * dst).t().to(ckpt.dtype)
            print_log(f"Resize the relative_position_bias_table from {tuple(ckpt.shape)} to "
                      f"{tuple(table.shape)}", logger="current")
            index_key = prefix + key.replace("bias_table", "index")
            state_dict[index_key] = own[key.replace("bias_table", "index")]

    def get_layer_depth(self, param_name: str, prefix: str = ""):
        """(depth, number of depths) for layer-wise lr decay (MMPretrain's numbering)."""
        return swin_layer_depth(self.depths, param_name, prefix)
