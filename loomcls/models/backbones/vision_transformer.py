"""Vision Transformer (Dosovitskiy et al., 2021) with DeiT's, EVA's and DINOv2's sizes.

Arguments, arch names and state-dict keys follow MMPretrain 1.x
(``cls_token``, ``pos_embed``, ``patch_embed.projection``, ``layers.N.{ln1,attn,ln2,ffn}``,
``ln1`` for the final norm, ``ln2`` for ``out_type='avg_featmap'``), so its
checkpoints load unchanged. Position embeddings are interpolated for inputs of
another size and for checkpoints trained at another ``img_size``.
"""

from typing import Mapping

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.errors import did_you_mean
from loomcv.logging import print_log
from loomcv.model import BaseModule
from loomcv.model.bricks import FFN, MultiheadAttention, PatchEmbed, build_norm_layer, resize_pos_embed

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from ..utils.swiglu_ffn import SwiGLUFFNFused
from .base_backbone import BaseBackbone


class TransformerEncoderLayer(BaseModule):
    """Pre-norm encoder layer: ``x + attn(ln1(x))`` then ``x + ffn(ln2(x))``."""

    def __init__(self, embed_dims, num_heads, feedforward_channels, layer_scale_init_value=0.0,
                 drop_rate=0.0, attn_drop_rate=0.0, drop_path_rate=0.0, num_fcs=2, qkv_bias=True,
                 ffn_type="origin", act_cfg=dict(type="GELU"), norm_cfg=dict(type="LN"), init_cfg=None):
        super().__init__(init_cfg)
        if ffn_type not in ("origin", "swiglu_fused"):
            raise ValueError(f"TransformerEncoderLayer: ffn_type must be 'origin' or 'swiglu_fused', got {ffn_type!r}")
        self.embed_dims = embed_dims
        drop_path = dict(type="DropPath", drop_prob=float(drop_path_rate))
        self.ln1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = MultiheadAttention(embed_dims, num_heads, attn_drop=attn_drop_rate, proj_drop=drop_rate,
                                       dropout_layer=drop_path, qkv_bias=qkv_bias,
                                       layer_scale_init_value=layer_scale_init_value)
        self.ln2 = build_norm_layer(norm_cfg, embed_dims)[1]
        if ffn_type == "origin":
            self.ffn = FFN(embed_dims, feedforward_channels, num_fcs=num_fcs, ffn_drop=drop_rate,
                           dropout_layer=drop_path, act_cfg=act_cfg, layer_scale_init_value=layer_scale_init_value)
        else:  # DINOv2-giant: SwiGLU, no stochastic depth inside (as MMPretrain)
            self.ffn = SwiGLUFFNFused(embed_dims, feedforward_channels,
                                      layer_scale_init_value=layer_scale_init_value)

    def init_weights(self):
        super().init_weights()
        for module in self.ffn.modules():
            if isinstance(module, nn.Linear) and module.bias is not None:
                nn.init.xavier_uniform_(module.weight)
                nn.init.normal_(module.bias, std=1e-6)

    def forward(self, x):
        x = x + self.attn(self.ln1(x))
        return self.ffn(self.ln2(x), identity=x)


@MODELS.register_module()
class VisionTransformer(BaseBackbone):
    """Vision Transformer.

    Args:
        arch: a name from ``arch_zoo`` ('b'/'base', 'deit-s', ...) or a dict with
            embed_dims, num_layers, num_heads, feedforward_channels.
        img_size / patch_size: the usual input size (sets ``pos_embed``'s grid) and patch size.
        out_indices: layers whose output is returned; negative counts from the end.
        out_type: 'cls_token' (B, C), 'featmap' (B, C, H, W), 'avg_featmap' (B, C) or 'raw' (B, L, C).
        with_cls_token: prepend a class token (needed for out_type='cls_token').
        frozen_stages: freeze the embeddings and the first n layers (0 freezes nothing, as MMPretrain).
        final_norm / pre_norm: a norm after the last layer / before the first.
        patch_cfg / layer_cfgs: extra arguments for PatchEmbed / each encoder layer.
    """

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(embed_dims=768, num_layers=8, num_heads=8,
                                             feedforward_channels=768 * 3)),
        **dict.fromkeys(["b", "base"], dict(embed_dims=768, num_layers=12, num_heads=12,
                                            feedforward_channels=3072)),
        **dict.fromkeys(["l", "large"], dict(embed_dims=1024, num_layers=24, num_heads=16,
                                             feedforward_channels=4096)),
        **dict.fromkeys(["h", "huge"], dict(embed_dims=1280, num_layers=32, num_heads=16,
                                            feedforward_channels=5120)),
        **dict.fromkeys(["deit-t", "deit-tiny"], dict(embed_dims=192, num_layers=12, num_heads=3,
                                                      feedforward_channels=192 * 4)),
        **dict.fromkeys(["deit-s", "deit-small", "dinov2-s", "dinov2-small"],
                        dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=384 * 4)),
        **dict.fromkeys(["deit-b", "deit-base"], dict(embed_dims=768, num_layers=12, num_heads=12,
                                                      feedforward_channels=768 * 4)),
        **dict.fromkeys(["eva-g", "eva-giant"], dict(embed_dims=1408, num_layers=40, num_heads=16,
                                                     feedforward_channels=6144)),
        **dict.fromkeys(["dinov2-g", "dinov2-giant"], dict(embed_dims=1536, num_layers=40, num_heads=24,
                                                           feedforward_channels=6144)),
    }
    essential_keys = ("embed_dims", "num_layers", "num_heads", "feedforward_channels")
    OUT_TYPES = ("raw", "cls_token", "featmap", "avg_featmap")
    num_extra_tokens = 1  # the class token

    def __init__(self, arch="base", img_size=224, patch_size=16, in_channels=3, out_indices=-1, drop_rate=0.0,
                 drop_path_rate=0.0, qkv_bias=True, norm_cfg=dict(type="LN", eps=1e-6), final_norm=True,
                 out_type="cls_token", with_cls_token=True, frozen_stages=-1, interpolate_mode="bicubic",
                 layer_scale_init_value=0.0, patch_cfg=dict(), layer_cfgs=dict(), pre_norm=False,
                 init_cfg=None):
        super().__init__(init_cfg)
        name = type(self).__name__
        self.arch_settings = select_arch(name, arch, self.arch_zoo, self.essential_keys)
        self.embed_dims = self.arch_settings["embed_dims"]
        self.num_layers = self.arch_settings["num_layers"]
        if out_type not in self.OUT_TYPES:
            raise ValueError(f"{name}: unknown out_type {out_type!r}; choose from {list(self.OUT_TYPES)}."
                             f"{did_you_mean(str(out_type), self.OUT_TYPES)}")
        if out_type == "cls_token" and not with_cls_token:
            raise ValueError(f"{name}: out_type='cls_token' needs with_cls_token=True")
        check_frozen_stages(name, frozen_stages, self.num_layers)
        self.out_type, self.with_cls_token = out_type, with_cls_token
        self.interpolate_mode, self.frozen_stages, self.final_norm = interpolate_mode, frozen_stages, final_norm
        self.out_indices = normalize_out_indices(name, out_indices, self.num_layers)

        embed_cfg = dict(in_channels=in_channels, input_size=img_size, embed_dims=self.embed_dims,
                         conv_type="Conv2d", kernel_size=patch_size, stride=patch_size,
                         bias=not pre_norm)  # CLIP-style pre_norm has no patch bias
        embed_cfg.update(patch_cfg)
        self.patch_embed = PatchEmbed(**embed_cfg)
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]

        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        else:
            self.cls_token = None
            self.num_extra_tokens = 0
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_extra_tokens, self.embed_dims))
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(p=drop_rate)

        if isinstance(layer_cfgs, Mapping):
            layer_cfgs = [layer_cfgs] * self.num_layers
        if len(layer_cfgs) != self.num_layers:
            raise ValueError(f"{name}: layer_cfgs has {len(layer_cfgs)} entries for {self.num_layers} layers")
        rates = drop_path_rates(drop_path_rate, self.num_layers)
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            layer_cfg = dict(embed_dims=self.embed_dims, num_heads=self.arch_settings["num_heads"],
                             feedforward_channels=self.arch_settings["feedforward_channels"],
                             layer_scale_init_value=layer_scale_init_value, drop_rate=drop_rate,
                             drop_path_rate=rates[i], qkv_bias=qkv_bias, norm_cfg=norm_cfg)
            layer_cfg.update(layer_cfgs[i])
            self.layers.append(TransformerEncoderLayer(**layer_cfg))

        self.pre_norm = build_norm_layer(norm_cfg, self.embed_dims)[1] if pre_norm else nn.Identity()
        if final_norm:
            self.ln1 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        if out_type == "avg_featmap":
            self.ln2 = build_norm_layer(norm_cfg, self.embed_dims)[1]
        self._freeze_stages()

    @property
    def norm1(self):
        return self.ln1

    @property
    def norm2(self):
        return self.ln2

    def init_weights(self):
        super().init_weights()
        pretrained = isinstance(self.init_cfg, Mapping) and self.init_cfg.get("type") == "Pretrained"
        if not pretrained:
            nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Load-time hook: fit a checkpoint's pos_embed to this model's token grid."""
        key = prefix + "pos_embed"
        if key not in state_dict:
            return
        ckpt = state_dict[key]
        if not self.with_cls_token and ckpt.shape[1] == self.pos_embed.shape[1] + 1:
            ckpt = ckpt[:, 1:]  # the checkpoint has a class token this model does not use
        if ckpt.shape != self.pos_embed.shape:
            grid = ckpt.shape[1] - self.num_extra_tokens
            side = int(round(grid ** 0.5))
            if side * side != grid:
                raise ValueError(f"{type(self).__name__}: cannot resize checkpoint pos_embed of shape "
                                 f"{tuple(ckpt.shape)}: {grid} patch tokens are not a square grid")
            print_log(f"Resize the pos_embed shape from {tuple(ckpt.shape)} to {tuple(self.pos_embed.shape)}.",
                      logger="current")
            ckpt = resize_pos_embed(ckpt, (side, side), self.patch_resolution, self.interpolate_mode,
                                    self.num_extra_tokens)
        state_dict[key] = ckpt

    def frozen_modules(self):
        if self.frozen_stages <= 0:
            return []
        modules = [self.patch_embed, self.drop_after_pos, self.pre_norm, *self.layers[:self.frozen_stages]]
        if self.frozen_stages == self.num_layers and self.final_norm:
            modules.append(self.ln1)
        return modules

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages > 0:
            for param in (self.pos_embed, self.cls_token):
                if param is not None:
                    param.requires_grad = False

    def forward(self, x):
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x, hw):
        if self.out_type == "raw":
            return x
        if self.out_type == "cls_token":
            return x[:, 0]
        patch_tokens = x[:, self.num_extra_tokens:]
        if self.out_type == "featmap":
            return patch_tokens.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_tokens.mean(dim=1))

    def get_layer_depth(self, param_name: str, prefix: str = ""):
        """(depth, number of depths) for layer-wise lr decay: embeddings 0, layer i -> i + 1."""
        num_depths = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_depths - 1, num_depths
        name = param_name[len(prefix):]
        if name in ("cls_token", "pos_embed") or name.startswith("patch_embed"):
            return 0, num_depths
        if name.startswith("layers"):
            return int(name.split(".")[1]) + 1, num_depths
        return num_depths - 1, num_depths
