"""EVA-02 (Fang et al., 2023) vision transformer: 2-D rotary position embedding in
attention and SwiGLU MLPs (with a sub-layer norm when ``sub_ln``).

Arch names (tiny/small/base/large), arguments and keys follow MMPretrain 1.x
(``layers.i.{norm1,attn,norm2,mlp}``, ``mlp.{w12,norm,w3}``, the shared ``rope``
buffers), so its converted EVA-02 checkpoints load.
"""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import build_dropout, build_norm_layer, resize_pos_embed

from ..utils.arch import drop_path_rates
from ..utils.position_encoding import RotaryEmbeddingFast
from ..utils.swiglu_ffn import SwiGLUFFN
from .vision_transformer import VisionTransformer


class AttentionWithRoPE(nn.Module):
    """Multi-head self-attention whose queries and keys (patch tokens only) are rotated by RoPE."""

    def __init__(self, embed_dims, num_heads, attn_drop=0.0, proj_drop=0.0, qkv_bias=True, qk_scale=None,
                 proj_bias=True, rope=None, with_cls_token=True):
        super().__init__()
        self.embed_dims, self.num_heads = embed_dims, num_heads
        self.head_dims = embed_dims // num_heads
        self.scale = qk_scale or self.head_dims ** -0.5
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(embed_dims, embed_dims, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)
        self.with_cls_token = with_cls_token
        self.rope = rope

    def _rotate(self, t, patch_resolution):
        if not self.with_cls_token:
            return self.rope(t, patch_resolution)
        return torch.cat((t[:, :, :1], self.rope(t[:, :, 1:], patch_resolution)), dim=-2)

    def forward(self, x, patch_resolution):
        B, N, _ = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        if self.rope is not None:
            q, k = self._rotate(q, patch_resolution).type_as(v), self._rotate(k, patch_resolution).type_as(v)
        attn = self.attn_drop(((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1).type_as(x))
        return self.proj_drop(self.proj((attn @ v).transpose(1, 2).reshape(B, N, -1)))


class EVA02EndcoderLayer(nn.Module):
    """Pre-norm block: RoPE attention and a SwiGLU MLP, each with stochastic depth.
    (The class name keeps MMPretrain's spelling.)"""

    def __init__(self, embed_dims, num_heads, feedforward_channels, sub_ln=False, attn_drop=0.0, proj_drop=0.0,
                 qkv_bias=False, qk_scale=None, proj_bias=True, rope=None, with_cls_token=True, drop_rate=0.0,
                 drop_path_rate=0.0, norm_cfg=dict(type="LN"), init_cfg=None):
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.attn = AttentionWithRoPE(embed_dims, num_heads, attn_drop=attn_drop, proj_drop=proj_drop,
                                      qkv_bias=qkv_bias, qk_scale=qk_scale, proj_bias=proj_bias, rope=rope,
                                      with_cls_token=with_cls_token)
        self.drop_path = build_dropout(dict(type="DropPath", drop_prob=float(drop_path_rate)))
        self.norm2 = build_norm_layer(norm_cfg, embed_dims)[1]
        self.mlp = SwiGLUFFN(embed_dims, feedforward_channels,
                             dropout_layer=dict(type="Dropout", drop_prob=drop_rate) if drop_rate > 0 else None,
                             norm_cfg=norm_cfg if sub_ln else None, add_identity=False)

    def forward(self, x, patch_resolution):
        x = x + self.drop_path(self.attn(self.norm1(x), patch_resolution))
        return x + self.drop_path(self.mlp(self.norm2(x)))


@MODELS.register_module()
class ViTEVA02(VisionTransformer):
    """EVA-02 backbone. Arguments as VisionTransformer (passed through ``**kwargs``) plus
    ``sub_ln`` (a norm inside each SwiGLU MLP) and the attention dropout rates."""

    arch_zoo = {
        **dict.fromkeys(["t", "ti", "tiny"], dict(embed_dims=192, num_layers=12, num_heads=3,
                                                  feedforward_channels=int(192 * 4 * 2 / 3))),
        **dict.fromkeys(["s", "small"], dict(embed_dims=384, num_layers=12, num_heads=6,
                                             feedforward_channels=int(384 * 4 * 2 / 3))),
        **dict.fromkeys(["b", "base"], dict(embed_dims=768, num_layers=12, num_heads=12,
                                            feedforward_channels=int(768 * 4 * 2 / 3))),
        **dict.fromkeys(["l", "large"], dict(embed_dims=1024, num_layers=24, num_heads=16,
                                             feedforward_channels=int(1024 * 4 * 2 / 3))),
    }

    def __init__(self, arch="tiny", sub_ln=False, drop_rate=0.0, attn_drop_rate=0.0, proj_drop_rate=0.0,
                 drop_path_rate=0.0, qkv_bias=True, norm_cfg=dict(type="LN"), with_cls_token=True, layer_cfgs=dict(),
                 **kwargs):
        super().__init__(arch=arch, drop_rate=drop_rate, drop_path_rate=drop_path_rate, norm_cfg=norm_cfg,
                         with_cls_token=with_cls_token, **kwargs)
        self.num_heads = self.arch_settings["num_heads"]
        self.rope = RotaryEmbeddingFast(self.embed_dims // self.num_heads, self.patch_resolution)
        if isinstance(layer_cfgs, dict):
            layer_cfgs = [layer_cfgs] * self.num_layers
        rates = drop_path_rates(drop_path_rate, self.num_layers)
        self.layers = nn.ModuleList()
        for i in range(self.num_layers):
            cfg = dict(embed_dims=self.embed_dims, num_heads=self.num_heads,
                       feedforward_channels=self.arch_settings["feedforward_channels"], sub_ln=sub_ln,
                       norm_cfg=norm_cfg, proj_drop=proj_drop_rate, attn_drop=attn_drop_rate, drop_rate=drop_rate,
                       qkv_bias=qkv_bias, rope=self.rope, with_cls_token=with_cls_token, drop_path_rate=rates[i])
            cfg.update(layer_cfgs[i])
            self.layers.append(EVA02EndcoderLayer(**cfg))
        self._freeze_stages()

    def forward(self, x):
        x, patch_resolution = self.patch_embed(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x, patch_resolution)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)
