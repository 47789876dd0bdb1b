"""BEiT / BEiT v2 (Bao et al., 2022; Peng et al., 2022) vision transformer: attention with
a learned relative position bias (per layer or shared), q/v-only qkv biases and layer
scale on both residual branches.

Arguments and keys follow MMPretrain 1.x's ``BEiTViT`` (``layers.i.attn.{q_bias,v_bias,
relative_position_bias_table}``, ``layers.i.gamma_1``/``gamma_2``, ``rel_pos_bias`` when
shared, ``ln2`` for ``out_type='avg_featmap'``), so its checkpoints load. A checkpoint's
shared bias is copied into every layer when this model uses per-layer biases.
"""

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.errors import ConfigError, did_you_mean
from loomcv.logging import print_log
from loomcv.model.bricks import FFN, PatchEmbed, build_dropout, build_norm_layer, resize_pos_embed

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone
from .vision_transformer import VisionTransformer


def relative_position_index(window_size: Sequence[int], with_cls_token: bool = True) -> torch.Tensor:
    """Index into the bias table for every (query, key) token pair of a ``window_size`` grid;
    with a class token, three extra entries: cls->token, token->cls, cls->cls."""
    wh, ww = window_size
    coords = torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
    rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    rel[:, :, 0] += wh - 1
    rel[:, :, 1] += ww - 1
    rel[:, :, 0] *= 2 * ww - 1
    grid = rel.sum(-1)
    if not with_cls_token:
        return grid
    num = (2 * wh - 1) * (2 * ww - 1) + 3
    index = torch.zeros((wh * ww + 1,) * 2, dtype=grid.dtype)
    index[1:, 1:] = grid
    index[0, 0:] = num - 3
    index[0:, 0] = num - 2
    index[0, 0] = num - 1
    return index


class RelativePositionBias(nn.Module):
    """A relative position bias table shared by all layers (``use_shared_rel_pos_bias``)."""

    def __init__(self, window_size: Sequence[int], num_heads: int, with_cls_token: bool = True):
        super().__init__()
        self.window_size = tuple(window_size)
        extra = 3 if with_cls_token else 0
        self.num_relative_distance = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + extra
        self.relative_position_bias_table = nn.Parameter(torch.zeros(self.num_relative_distance, num_heads))
        self.register_buffer("relative_position_index", relative_position_index(window_size, with_cls_token))

    def forward(self) -> torch.Tensor:
        n = self.relative_position_index.shape[0]
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        return bias.permute(2, 0, 1).contiguous()


class BEiTAttention(nn.Module):
    """Self-attention with optional per-layer relative position bias; ``bias='qv_bias'``
    learns q and v biases only (k's is zero)."""

    def __init__(self, embed_dims, num_heads, window_size, use_rel_pos_bias, bias="qv_bias", qk_scale=None,
                 attn_drop_rate=0.0, proj_drop_rate=0.0, init_cfg=None, **kwargs):
        super().__init__()
        self.embed_dims, self.num_heads, self.bias = embed_dims, num_heads, bias
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        if bias == "qv_bias":
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        if use_rel_pos_bias and window_size is None:
            raise ConfigError("BEiTAttention: use_rel_pos_bias needs a window_size")
        self.window_size = tuple(window_size) if use_rel_pos_bias else None
        if use_rel_pos_bias:
            num = (2 * window_size[0] - 1) * (2 * window_size[1] - 1) + 3
            self.relative_position_bias_table = nn.Parameter(torch.zeros(num, num_heads))
            self.register_buffer("relative_position_index", relative_position_index(window_size))
        else:
            self.relative_position_bias_table = None
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=bias is True)
        self.attn_drop = nn.Dropout(attn_drop_rate)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop_rate)

    def forward(self, x, rel_pos_bias=None):
        B, N, _ = x.shape
        if self.bias == "qv_bias":
            qkv_bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
            qkv = F.linear(x, self.qkv.weight, qkv_bias)
        else:
            qkv = self.qkv(x)
        q, k, v = qkv.reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        if self.relative_position_bias_table is not None:
            n = self.relative_position_index.shape[0]
            bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
            attn = attn + bias.permute(2, 0, 1).unsqueeze(0)
        if rel_pos_bias is not None:
            attn = attn + rel_pos_bias
        attn = self.attn_drop(attn.softmax(dim=-1))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(B, N, -1)))


class BEiTTransformerEncoderLayer(nn.Module):
    """``x + drop_path(gamma_1 * attn(ln1(x)))`` then the same with the FFN and ``gamma_2``."""

    def __init__(self, embed_dims, num_heads, feedforward_channels, layer_scale_init_value, window_size,
                 use_rel_pos_bias, drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, num_fcs=2,
                 bias="qv_bias", act_cfg=dict(type="GELU"), norm_cfg=dict(type="LN"), attn_cfg=dict(),
                 ffn_cfg=dict(add_identity=False), init_cfg=None):
        super().__init__()
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = BEiTAttention(**{"window_size": window_size, "use_rel_pos_bias": use_rel_pos_bias,
                                     "embed_dims": embed_dims, "num_heads": num_heads, "bias": bias, **attn_cfg})
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)[1]
        # MMPretrain's FFN also drops paths inside (its dropout_layer); kept for identical training
        self.ffn = FFN(**{"embed_dims": embed_dims, "feedforward_channels": feedforward_channels,
                          "num_fcs": num_fcs, "ffn_drop": drop_rate, "act_cfg": act_cfg,
                          "dropout_layer": dict(type="DropPath", drop_prob=float(drop_path_rate)), **ffn_cfg})
        self.drop_path = build_dropout(dict(type="DropPath", drop_prob=float(drop_path_rate)))
        if layer_scale_init_value > 0:
            self.gamma_1 = nn.Parameter(layer_scale_init_value * torch.ones(embed_dims))
            self.gamma_2 = nn.Parameter(layer_scale_init_value * torch.ones(embed_dims))
        else:
            self.gamma_1 = self.gamma_2 = None

    @property
    def norm1(self):
        return self.ln1

    @property
    def norm2(self):
        return self.ln2

    def forward(self, x, rel_pos_bias=None):
        attn = self.attn(self.ln1(x), rel_pos_bias=rel_pos_bias)
        x = x + self.drop_path(attn if self.gamma_1 is None else self.gamma_1 * attn)
        ffn = self.ffn(self.ln2(x))
        return x + self.drop_path(ffn if self.gamma_2 is None else self.gamma_2 * ffn)


@MODELS.register_module()
class BEiTViT(VisionTransformer):
    """BEiT backbone.

    Args (beyond VisionTransformer's):
        bias: 'qv_bias' (default), True or False for the qkv projection.
        use_abs_pos_emb: an absolute ``pos_embed`` as ViT (off by default).
        use_rel_pos_bias / use_shared_rel_pos_bias: per-layer or one shared relative bias.
        layer_scale_init_value: initial ``gamma_1``/``gamma_2`` (0 disables them).
    The input size is fixed by ``img_size`` when relative position biases are used.
    """

    arch_zoo = {k: v for k, v in VisionTransformer.arch_zoo.items() if not k.startswith(("h", "dinov2"))}

    def __init__(self, arch="base", img_size=224, patch_size=16, in_channels=3, out_indices=-1, drop_rate=0,
                 drop_path_rate=0, bias="qv_bias", norm_cfg=dict(type="LN", eps=1e-6), final_norm=False,
                 out_type="avg_featmap", with_cls_token=True, frozen_stages=-1, use_abs_pos_emb=False,
                 use_rel_pos_bias=True, use_shared_rel_pos_bias=False, interpolate_mode="bicubic",
                 layer_scale_init_value=0.1, patch_cfg=dict(), layer_cfgs=dict(), init_cfg=None):
        BaseBackbone.__init__(self, init_cfg)
        name = type(self).__name__
        self.arch_settings = select_arch(name, arch, self.arch_zoo, self.essential_keys)
        self.embed_dims, self.num_layers = self.arch_settings["embed_dims"], self.arch_settings["num_layers"]
        if out_type not in self.OUT_TYPES:
            raise ValueError(f"{name}: unknown out_type {out_type!r}; choose from {list(self.OUT_TYPES)}."
                             f"{did_you_mean(str(out_type), self.OUT_TYPES)}")
        if out_type == "cls_token" and not with_cls_token:
            raise ValueError(f"{name}: out_type='cls_token' needs with_cls_token=True")
        if use_rel_pos_bias and use_shared_rel_pos_bias:
            raise ConfigError(f"{name}: use_rel_pos_bias and use_shared_rel_pos_bias cannot both be True")
        self.frozen_stages = check_frozen_stages(name, frozen_stages, self.num_layers)
        self.out_indices = normalize_out_indices(name, out_indices, self.num_layers)
        self.out_type, self.with_cls_token, self.final_norm = out_type, with_cls_token, final_norm
        self.interpolate_mode, self.use_rel_pos_bias = interpolate_mode, use_rel_pos_bias
        embed_cfg = dict(in_channels=in_channels, input_size=img_size, embed_dims=self.embed_dims,
                         conv_type="Conv2d", kernel_size=patch_size, stride=patch_size)
        embed_cfg.update(patch_cfg)
        self.patch_embed = PatchEmbed(**embed_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.num_extra_tokens = 1 if with_cls_token else 0
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims)) if with_cls_token else None
        if use_abs_pos_emb:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
            self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        else:
            self.pos_embed = None
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        self.rel_pos_bias = (RelativePositionBias(self.patch_resolution, self.arch_settings["num_heads"])
                             if use_shared_rel_pos_bias else None)
        self._register_load_state_dict_pre_hook(self._prepare_relative_position_bias_table)
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        rates = drop_path_rates(drop_path_rate, self.num_layers)
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            cfg = dict(embed_dims=self.embed_dims, num_heads=self.arch_settings["num_heads"],
                       feedforward_channels=self.arch_settings["feedforward_channels"],
                       layer_scale_init_value=layer_scale_init_value, window_size=self.patch_resolution,
                       use_rel_pos_bias=use_rel_pos_bias, drop_rate=drop_rate, drop_path_rate=rates[i],
                       bias=bias, norm_cfg=norm_cfg)
            cfg.update(layer_cfgs[i])
            self.layers.append(BEiTTransformerEncoderLayer(**cfg))
        self.pre_norm = nn.Identity()
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if out_type == "avg_featmap":
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        self._freeze_stages()

    def init_weights(self):
        BaseBackbone.init_weights(self)
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained"
        if self.pos_embed is not None and not pretrained:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, x):
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        if self.pos_embed is not None:
            x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                     mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        rel_pos_bias = self.rel_pos_bias() if self.rel_pos_bias is not None else None
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x, rel_pos_bias)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _prepare_relative_position_bias_table(self, state_dict, prefix, *args, **kwargs):
        """Load-time hook: spread a shared bias over the layers; fit tables of another grid size
        (bicubic; MMPretrain uses a geometric-progression fit, so values differ slightly). The
        position index buffers are this model's own, so the load works in strict mode too."""
        shared = prefix + "rel_pos_bias.relative_position_bias_table"
        if self.use_rel_pos_bias and shared in state_dict:
            print_log("Expand the shared relative position embedding to each transformer block.", logger="current")
            table = state_dict.pop(shared)
            state_dict.pop(prefix + "rel_pos_bias.relative_position_index", None)
            own_index = self.layers[0].attn.relative_position_index
            for i in range(self.num_layers):
                state_dict[f"{prefix}layers.{i}.attn.relative_position_bias_table"] = table.clone()
                state_dict[f"{prefix}layers.{i}.attn.relative_position_index"] = own_index.clone()
        own = self.state_dict()
        for key, current in own.items():
            if "relative_position_bias_table" not in key or prefix + key not in state_dict:
                continue
            ckpt = state_dict[prefix + key]
            if ckpt.shape == current.shape:
                continue
            src, dst = int((ckpt.shape[0] - 3) ** 0.5), int((current.shape[0] - 3) ** 0.5)
            grid = ckpt[:-3].t().reshape(1, -1, src, src).float()
            resized = F.interpolate(grid, size=(dst, dst), mode="bicubic", align_corners=False)
            state_dict[prefix + key] = torch.cat((resized.reshape(-1, dst * dst).t().to(ckpt.dtype), ckpt[-3:]))
            print_log(f"Resize the relative_position_bias_table from {tuple(ckpt.shape)} to "
                      f"{tuple(current.shape)}", logger="current")
            index_key = key.replace("bias_table", "index")  # the index follows this model's grid
            state_dict[prefix + index_key] = own[index_key]
