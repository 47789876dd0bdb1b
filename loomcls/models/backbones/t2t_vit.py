"""Tokens-to-Token ViT (Yuan et al., 2021): instead of cutting the image into
patches once, a T2T module re-structures tokens three times -- overlapping
unfolds (7x7/4, 3x3/2, 3x3/2) with a small transformer layer in between -- so
the tokens keep local structure; a ViT encoder with fixed sinusoidal position
embeddings follows.

Module names follow MMPretrain 1.x (``tokens_to_token.{attention1,attention2,
project}``, ``encoder.i.{ln1,attn,ln2,ffn}``, ``norm``, ``cls_token``, the
``pos_embed`` buffer) so its checkpoints load unchanged.
"""

import math
from copy import deepcopy
from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import build_norm_layer
from loomcv.model.bricks.transformer import FFN, MultiheadAttention, resize_pos_embed, to_2tuple
from loomcv.validation import check, check_choice

from ..utils.arch import drop_path_rates, normalize_out_indices
from .base_backbone import BaseBackbone


class T2TTransformerLayer(BaseModule):
    """A pre-norm transformer layer whose input width may differ from its width:
    with ``input_dims`` the attention output replaces the input (its value
    projection is the shortcut) instead of being added to it. As the official
    code, attention scales by ``(input_dims // num_heads) ** -0.5``."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, input_dims=None,
                 drop_rate: float = 0., attn_drop_rate: float = 0., drop_path_rate: float = 0., num_fcs: int = 2,
                 qkv_bias: bool = False, qk_scale=None, act_cfg: Mapping = dict(type="GELU"),
                 norm_cfg: Mapping = dict(type="LN"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.v_shortcut = input_dims is not None
        input_dims = input_dims or embed_dims
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, input_dims, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.attn = MultiheadAttention(embed_dims, num_heads, input_dims=input_dims, attn_drop=attn_drop_rate,
                                       proj_drop=drop_rate,
                                       dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
                                       qkv_bias=qkv_bias, qk_scale=qk_scale or (input_dims // num_heads) ** -0.5,
                                       v_shortcut=self.v_shortcut)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, embed_dims, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.ffn = FFN(embed_dims, feedforward_channels, num_fcs=num_fcs, ffn_drop=drop_rate,
                       dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate), act_cfg=act_cfg)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.norm1(x)) if self.v_shortcut else x + self.attn(self.norm1(x))
        return self.ffn(self.norm2(x), identity=x)


class T2TModule(BaseModule):
    """Three soft splits (unfolds with overlap) with a one-head transformer layer
    of ``token_dims`` after the first two, then a linear projection to
    ``embed_dims``: tokens at 1/16 of the input resolution."""

    def __init__(self, img_size=224, in_channels: int = 3, embed_dims: int = 384, token_dims: int = 64,
                 use_performer: bool = False, init_cfg=None):
        super().__init__(init_cfg)
        if use_performer:
            raise NotImplementedError("T2TModule: the Performer attention is not implemented (as in MMPretrain); "
                                      "use use_performer=False")
        self.embed_dims = embed_dims
        self.soft_split0 = nn.Unfold(kernel_size=(7, 7), stride=(4, 4), padding=(2, 2))
        self.soft_split1 = nn.Unfold(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        self.soft_split2 = nn.Unfold(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        self.attention1 = T2TTransformerLayer(input_dims=in_channels * 7 * 7, embed_dims=token_dims, num_heads=1,
                                              feedforward_channels=token_dims)
        self.attention2 = T2TTransformerLayer(input_dims=token_dims * 3 * 3, embed_dims=token_dims, num_heads=1,
                                              feedforward_channels=token_dims)
        self.project = nn.Linear(token_dims * 3 * 3, embed_dims)
        img_size = to_2tuple(img_size)
        self.init_out_size = [img_size[0] // 16, img_size[1] // 16]
        self.num_patches = self.init_out_size[0] * self.init_out_size[1]

    @staticmethod
    def _get_unfold_size(unfold: nn.Unfold, input_size):
        kernel, stride = to_2tuple(unfold.kernel_size), to_2tuple(unfold.stride)
        padding, dilation = to_2tuple(unfold.padding), to_2tuple(unfold.dilation)
        return tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                     for s, k, st, p, d in zip(input_size, kernel, stride, padding, dilation))

    def forward(self, x: torch.Tensor):
        hw_shape = self._get_unfold_size(self.soft_split0, x.shape[2:])
        x = self.soft_split0(x).transpose(1, 2)
        for step in (1, 2):
            x = getattr(self, f"attention{step}")(x).transpose(1, 2)
            x = x.reshape(x.shape[0], x.shape[1], *hw_shape)
            split = getattr(self, f"soft_split{step}")
            hw_shape = self._get_unfold_size(split, hw_shape)
            x = split(x).transpose(1, 2)
        return self.project(x), hw_shape


def get_sinusoid_encoding(n_position: int, embed_dims: int) -> torch.Tensor:
    """The (1, n_position, embed_dims) sine/cosine table of "Attention Is All You
    Need": even channels sin, odd channels cos, of position / 10000^(2*(i//2)/dims)."""
    cpu = dict(dtype=torch.float64, device="cpu")  # real values even inside a torch.device('meta') block
    position = torch.arange(n_position, **cpu)[:, None]
    exponent = torch.tensor([2 * (i // 2) / embed_dims for i in range(embed_dims)], **cpu)
    angles = position / torch.pow(torch.tensor(10000.0, **cpu), exponent)[None, :]
    angles[:, 0::2] = torch.sin(angles[:, 0::2])
    angles[:, 1::2] = torch.cos(angles[:, 1::2])
    return angles.float().unsqueeze(0)


@MODELS.register_module()
class T2T_ViT(BaseBackbone):  # noqa: N801  (MMPretrain's name)
    """Tokens-to-Token ViT.

    Args:
        img_size: the usual input size (sets the position table); other sizes
            interpolate it (``interpolate_mode``).
        in_channels / embed_dims / num_layers: input, width and depth.
        out_indices: encoder layers to output (-1 is the last); each output is
            ``[patch tokens (B, C, H, W), class token (B, C)]`` (just the map
            with ``output_cls_token=False``).
        drop_rate / drop_path_rate: dropout after the position embedding;
            stochastic depth rising linearly over the layers.
        final_norm: a norm after the last layer.
        with_cls_token / output_cls_token: keep the class token in the encoder /
            in the outputs (the latter needs the former).
        t2t_cfg / layer_cfgs: extra arguments of the T2T module / each encoder
            layer (defaults: 6 heads, 3x feed-forward, no qkv bias).
    """

    num_extra_tokens = 1  # the class token

    def __init__(self, img_size=224, in_channels: int = 3, embed_dims: int = 384, num_layers: int = 14,
                 out_indices: Union[int, Sequence[int]] = -1, drop_rate: float = 0., drop_path_rate: float = 0.,
                 norm_cfg: Mapping = dict(type="LN"), final_norm: bool = True, with_cls_token: bool = True,
                 output_cls_token: bool = True, interpolate_mode: str = "bicubic", t2t_cfg: Mapping = dict(),
                 layer_cfgs: Union[Mapping, Sequence] = dict(), init_cfg=None):
        super().__init__(init_cfg)
        check(not output_cls_token or with_cls_token, self,
              f"output_cls_token=True needs with_cls_token=True, got with_cls_token={with_cls_token!r}")
        check_choice(self, "interpolate_mode", interpolate_mode, ("bicubic", "bilinear", "nearest"))
        if isinstance(layer_cfgs, Sequence):
            check(len(layer_cfgs) == num_layers, self,
                  f"layer_cfgs needs one dict per layer ({num_layers}), got {len(layer_cfgs)}")
        self.tokens_to_token = T2TModule(img_size=img_size, in_channels=in_channels, embed_dims=embed_dims,
                                         **t2t_cfg)
        self.patch_resolution = self.tokens_to_token.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.with_cls_token, self.output_cls_token = with_cls_token, output_cls_token
        self.embed_dims = embed_dims
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.interpolate_mode = interpolate_mode
        table = get_sinusoid_encoding(num_patches + self.num_extra_tokens, embed_dims)
        self.register_buffer("pos_embed", table.to(torch.empty(0).device))  # the meta device when building there
        self._register_load_state_dict_pre_hook(self._prepare_pos_embed)
        self.drop_after_pos = nn.Dropout(p=drop_rate)
        self.out_indices = normalize_out_indices(self, out_indices, num_layers)

        rates = drop_path_rates(drop_path_rate, num_layers)
        self.encoder = nn.ModuleList()
        for i in range(num_layers):
            layer_cfg = layer_cfgs[i] if isinstance(layer_cfgs, Sequence) else deepcopy(layer_cfgs)
            self.encoder.append(T2TTransformerLayer(**{
                "embed_dims": embed_dims, "num_heads": 6, "feedforward_channels": 3 * embed_dims,
                "drop_path_rate": rates[i], "qkv_bias": False, "norm_cfg": norm_cfg, **layer_cfg}))
        self.final_norm = final_norm
        self.norm = build_norm_layer(norm_cfg, embed_dims)[1] if final_norm else nn.Identity()
        self.feat_dim = embed_dims

    def init_weights(self):
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            return  # the checkpoint's values stay
        nn.init.trunc_normal_(self.cls_token, std=.02)

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Resize a checkpoint's position table made for another input size."""
        name = prefix + "pos_embed"
        if name not in state_dict or state_dict[name].shape == self.pos_embed.shape:
            return
        side = int(math.sqrt(state_dict[name].shape[1] - self.num_extra_tokens))
        state_dict[name] = resize_pos_embed(state_dict[name], (side, side), self.tokens_to_token.init_out_size,
                                            self.interpolate_mode, self.num_extra_tokens)

    def forward(self, x: torch.Tensor):
        batch = x.shape[0]
        x, patch_resolution = self.tokens_to_token(x)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        if not self.with_cls_token:
            x = x[:, 1:]
        outs = []
        for i, layer in enumerate(self.encoder):
            x = layer(x)
            if i == len(self.encoder) - 1 and self.final_norm:
                x = self.norm(x)
            if i in self.out_indices:
                channels = x.shape[-1]
                tokens = x[:, 1:] if self.with_cls_token else x
                patch_token = tokens.reshape(batch, *patch_resolution, channels).permute(0, 3, 1, 2)
                cls_token = x[:, 0] if self.with_cls_token else None
                outs.append([patch_token, cls_token] if self.output_cls_token else patch_token)
        return tuple(outs)
