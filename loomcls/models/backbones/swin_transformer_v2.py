"""Swin Transformer V2 (Liu et al., 2022): Swin with post-norm residual blocks, scaled
cosine attention and a continuous relative position bias (a small MLP on log-spaced
offsets, so windows of another size reuse the learned bias).

Arguments, arch names and keys follow MMPretrain 1.x (``stages.N.downsample`` before the
blocks of stage N > 0, ``attn.w_msa.{cpb_mlp,logit_scale,q_bias,v_bias,qkv,proj}``,
``norm1``/``norm2`` after each branch, ``norm3`` every ``extra_norm_every_n_blocks``,
``norm{i}`` per output), so its checkpoints load; the position index and coordinate
table buffers are always rebuilt from this model's window size.
"""

import math
from copy import deepcopy
from typing import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.errors import ConfigError
from loomcv.model import BaseModule
from loomcv.model.bricks import FFN, PatchEmbed, PatchMerging, activation_checkpoint, build_norm_layer, \
    resize_pos_embed, to_2tuple

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone
from .swin_transformer import ShiftWindowMSA, relative_position_index


def log_spaced_coords_table(window_size, pretrained_window_size) -> torch.Tensor:
    """(1, 2Wh-1, 2Ww-1, 2) relative offsets scaled to [-8, 8] by the (pretrained) window, then
    ``sign(x) * log2(|x| + 1) / log2(8)``."""
    wh, ww = window_size
    coords_h = torch.arange(-(wh - 1), wh, dtype=torch.float32, device="cpu")
    coords_w = torch.arange(-(ww - 1), ww, dtype=torch.float32, device="cpu")
    table = torch.stack(torch.meshgrid(coords_h, coords_w, indexing="ij")).permute(1, 2, 0).contiguous().unsqueeze(0)
    ref = pretrained_window_size if pretrained_window_size[0] > 0 else window_size
    table[..., 0] /= ref[0] - 1
    table[..., 1] /= ref[1] - 1
    table *= 8
    return torch.sign(table) * torch.log2(table.abs() + 1.0) / math.log2(8)


class WindowMSAV2(BaseModule):
    """Window attention with cosine similarity (learned per-head ``logit_scale``) and a bias
    ``16 * sigmoid(cpb_mlp(log-spaced offset))``; q/v biases only."""

    def __init__(self, embed_dims, window_size, num_heads, qkv_bias=True, attn_drop=0.0, proj_drop=0.0,
                 cpb_mlp_hidden_dims=512, pretrained_window_size=(0, 0), init_cfg=None, **kwargs):
        super().__init__(init_cfg)
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.window_size = to_2tuple(window_size)
        self.cpb_mlp = nn.Sequential(nn.Linear(2, cpb_mlp_hidden_dims, bias=True), nn.ReLU(inplace=True),
                                     nn.Linear(cpb_mlp_hidden_dims, num_heads, bias=False))
        self.logit_scale = nn.Parameter(torch.log(10 * torch.ones((num_heads, 1, 1))))
        self.register_buffer("relative_coords_table",
                             log_spaced_coords_table(self.window_size, to_2tuple(pretrained_window_size)))
        self.register_buffer("relative_position_index", relative_position_index(self.window_size))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        else:
            self.q_bias = self.v_bias = None
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x, mask=None):
        batch_windows, n, c = x.shape
        bias = None
        if self.q_bias is not None:
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        qkv = F.linear(x, self.qkv.weight, bias).reshape(batch_windows, n, 3, self.num_heads, -1)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        attn = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(-2, -1)
        attn = attn * torch.clamp(self.logit_scale, max=math.log(1.0 / 0.01)).exp()
        table = self.cpb_mlp(self.relative_coords_table).view(-1, self.num_heads)
        position_bias = table[self.relative_position_index.view(-1)].view(n, n, -1).permute(2, 0, 1)
        attn = attn + 16 * torch.sigmoid(position_bias).unsqueeze(0)
        if mask is not None:
            num_windows = mask.shape[0]
            attn = attn.view(-1, num_windows, self.num_heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.num_heads, n, n)
        attn = self.attn_drop(attn.softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(batch_windows, n, c)))


class SwinBlockV2(BaseModule):
    """Post-norm block: ``x + norm1(attn(x))`` then ``x + norm2(ffn(x))`` (and ``norm3`` if ``extra_norm``)."""

    def __init__(self, embed_dims, num_heads, window_size=8, shift=False, extra_norm=False, ffn_ratio=4.0,
                 drop_path=0.0, pad_small_map=False, attn_cfgs=dict(), ffn_cfgs=dict(), norm_cfg=dict(type="LN"),
                 with_cp=False, pretrained_window_size=0, init_cfg=None):
        super().__init__(init_cfg)
        self.with_cp, self.extra_norm = with_cp, extra_norm
        drop = dict(type="DropPath", drop_prob=float(drop_path))
        attn = dict(embed_dims=embed_dims, num_heads=num_heads, shift_size=window_size // 2 if shift else 0,
                    window_size=window_size, dropout_layer=drop, pad_small_map=pad_small_map, **attn_cfgs)
        attn.update(window_msa=WindowMSAV2, pretrained_window_size=to_2tuple(pretrained_window_size))
        self.attn = ShiftWindowMSA(**attn)
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.ffn = FFN(**{**dict(embed_dims=embed_dims, feedforward_channels=int(embed_dims * ffn_ratio), num_fcs=2,
                                 ffn_drop=0, dropout_layer=drop, act_cfg=dict(type="GELU"), add_identity=False),
                          **ffn_cfgs})
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        if extra_norm:
            self.norm3 = build_norm_layer(norm_cfg, embed_dims)[1]

    def forward(self, x, hw_shape):
        def inner(x):
            x = x + self.norm1(self.attn(x, hw_shape))
            x = x + self.norm2(self.ffn(x))
            return self.norm3(x) if self.extra_norm else x

        return activation_checkpoint(inner, x, enabled=self.with_cp)


class SwinBlockV2Sequence(BaseModule):
    """An optional PatchMerging (post-norm) first, then ``depth`` blocks."""

    def __init__(self, embed_dims, depth, num_heads, window_size=8, downsample=False, downsample_cfg=dict(),
                 drop_paths=0.0, block_cfgs=dict(), with_cp=False, pad_small_map=False, extra_norm_every_n_blocks=0,
                 pretrained_window_size=0, init_cfg=None):
        super().__init__(init_cfg)
        if not isinstance(drop_paths, Sequence):
            drop_paths = [drop_paths] * depth
        if not isinstance(block_cfgs, Sequence):
            block_cfgs = [deepcopy(block_cfgs) for _ in range(depth)]
        if downsample:
            self.out_channels = 2 * embed_dims
            self.downsample = PatchMerging(**{**dict(in_channels=embed_dims, out_channels=self.out_channels,
                                                     norm_cfg=dict(type="LN")), **downsample_cfg})
        else:
            self.out_channels = embed_dims
            self.downsample = None
        self.blocks = nn.ModuleList()
        for i in range(depth):
            extra = bool(extra_norm_every_n_blocks) and (i + 1) % extra_norm_every_n_blocks == 0
            self.blocks.append(SwinBlockV2(**{**dict(
                embed_dims=self.out_channels, num_heads=num_heads, window_size=window_size, shift=i % 2 == 1,
                extra_norm=extra, drop_path=drop_paths[i], with_cp=with_cp, pad_small_map=pad_small_map,
                pretrained_window_size=pretrained_window_size), **block_cfgs[i]}))

    def forward(self, x, in_shape):
        if self.downsample is not None:
            x, in_shape = self.downsample(x, in_shape)
        for block in self.blocks:
            x = block(x, in_shape)
        return x, in_shape


@MODELS.register_module()
class SwinTransformerV2(BaseBackbone):
    """Swin Transformer V2.

    Args (beyond SwinTransformer's): ``window_size`` may be one per stage;
    ``pretrained_window_sizes`` (one per stage) rescale the position-bias coordinates
    of models fine-tuned from another window size; ``extra_norm_every_n_blocks`` in
    ``arch`` (the huge and giant models).
    """

    arch_zoo = {
        **dict.fromkeys(["t", "tiny"], dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24],
                                            extra_norm_every_n_blocks=0)),
        **dict.fromkeys(["s", "small"], dict(embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24],
                                             extra_norm_every_n_blocks=0)),
        **dict.fromkeys(["b", "base"], dict(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32],
                                            extra_norm_every_n_blocks=0)),
        **dict.fromkeys(["l", "large"], dict(embed_dims=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48],
                                             extra_norm_every_n_blocks=0)),
        **dict.fromkeys(["h", "huge"], dict(embed_dims=352, depths=[2, 2, 18, 2], num_heads=[8, 16, 32, 64],
                                            extra_norm_every_n_blocks=6)),
        **dict.fromkeys(["g", "giant"], dict(embed_dims=512, depths=[2, 2, 42, 4], num_heads=[16, 32, 64, 128],
                                             extra_norm_every_n_blocks=6)),
    }
    essential_keys = ("embed_dims", "depths", "num_heads", "extra_norm_every_n_blocks")
    num_extra_tokens = 0

    def __init__(self, arch="tiny", img_size=256, patch_size=4, in_channels=3, window_size=8, drop_rate=0.0,
                 drop_path_rate=0.1, out_indices=(3,), use_abs_pos_embed=False, interpolate_mode="bicubic",
                 with_cp=False, frozen_stages=-1, norm_eval=False, pad_small_map=False, norm_cfg=dict(type="LN"),
                 stage_cfgs=dict(), patch_cfg=dict(), pretrained_window_sizes=[0, 0, 0, 0], init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        self.arch_settings = select_arch(name, arch, self.arch_zoo, self.essential_keys, allow_extra_keys=False)
        self.embed_dims, self.depths = self.arch_settings["embed_dims"], self.arch_settings["depths"]
        self.num_heads = self.arch_settings["num_heads"]
        self.extra_norm_every_n_blocks = self.arch_settings["extra_norm_every_n_blocks"]
        self.num_layers = len(self.depths)
        self.out_indices = normalize_out_indices(name, out_indices, self.num_layers)
        self.frozen_stages = check_frozen_stages(name, frozen_stages, self.num_layers - 1)
        self.use_abs_pos_embed, self.interpolate_mode, self.norm_eval = use_abs_pos_embed, interpolate_mode, norm_eval
        if isinstance(window_size, int):
            self.window_sizes = [window_size] * self.num_layers
        elif isinstance(window_size, Sequence) and len(window_size) == self.num_layers:
            self.window_sizes = list(window_size)
        else:
            raise ConfigError(f"{name}: window_size must be an int or one value per stage ({self.num_layers}), "
                              f"got {window_size!r}")
        if len(pretrained_window_sizes) < self.num_layers:
            raise ConfigError(f"{name}: pretrained_window_sizes needs one value per stage ({self.num_layers}), "
                              f"got {pretrained_window_sizes}")
        embed_cfg = dict(in_channels=in_channels, input_size=img_size, embed_dims=self.embed_dims,
                         conv_type="Conv2d", kernel_size=patch_size, stride=patch_size, norm_cfg=dict(type="LN"))
        embed_cfg.update(patch_cfg)
        self.patch_embed = PatchEmbed(**embed_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        if use_abs_pos_embed:
            num_patches = self.patch_resolution[0] * self.patch_resolution[1]
            self.absolute_pos_embed = nn.Parameter(torch.zeros(1, num_patches, self.embed_dims))
            self._register_load_state_dict_pre_hook(self._prepare_abs_pos_embed)
        self._register_load_state_dict_pre_hook(self._delete_reinit_params)
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        rates = drop_path_rates(drop_path_rate, sum(self.depths))
        self.stages = nn.ModuleList()
        widths = [self.embed_dims]
        for i, (depth, heads) in enumerate(zip(self.depths, self.num_heads)):
            stage_cfg = stage_cfgs[i] if isinstance(stage_cfgs, Sequence) else deepcopy(stage_cfgs)
            stage = SwinBlockV2Sequence(**{**dict(
                embed_dims=widths[-1], depth=depth, num_heads=heads, window_size=self.window_sizes[i],
                downsample=i > 0, drop_paths=rates[:depth], with_cp=with_cp, pad_small_map=pad_small_map,
                extra_norm_every_n_blocks=self.extra_norm_every_n_blocks,
                pretrained_window_size=pretrained_window_sizes[i], downsample_cfg=dict(use_post_norm=True)),
                **stage_cfg})
            self.stages.append(stage)
            rates = rates[depth:]
            widths.append(stage.out_channels)
        self.num_features = widths[1:]
        for i in self.out_indices:
            norm = build_norm_layer(norm_cfg, widths[i + 1])[1] if norm_cfg is not None else nn.Identity()
            self.add_module(f"norm{i}", norm)
        self._freeze_stages()

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
            x, hw_shape = stage(x, hw_shape)
            if i in self.out_indices:
                out = getattr(self, f"norm{i}")(x)
                outs.append(out.view(-1, *hw_shape, stage.out_channels).permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        modules = [self.patch_embed, *self.stages[:self.frozen_stages + 1]]
        return modules + [getattr(self, f"norm{i}") for i in self.out_indices if i <= self.frozen_stages]

    def _prepare_abs_pos_embed(self, state_dict, prefix, *args, **kwargs):
        key = prefix + "absolute_pos_embed"
        if key not in state_dict or state_dict[key].shape == self.absolute_pos_embed.shape:
            return
        ckpt = state_dict[key]
        side = int(round(ckpt.shape[1] ** 0.5))
        state_dict[key] = resize_pos_embed(ckpt, (side, side), self.patch_resolution, self.interpolate_mode, 0)

    def _delete_reinit_params(self, state_dict, prefix, *args, **kwargs):
        """Position index and coordinate tables follow this model's windows: use our own buffers."""
        own = {k: v for k, v in self.state_dict().items()
               if "relative_position_index" in k or "relative_coords_table" in k}
        for key in [k for k in state_dict if k.startswith(prefix) and
                    ("relative_position_index" in k or "relative_coords_table" in k)]:
            del state_dict[key]
        state_dict.update({prefix + k: v for k, v in own.items()})
