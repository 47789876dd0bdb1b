"""MLP-Mixer (Tolstikhin et al., 2021): patch tokens mixed by two MLPs per block,
one across the tokens and one across the channels.

Module names follow MMPretrain 1.x (``patch_embed.projection``, ``layers.N.{norm1,
token_mix,norm2,channel_mix}`` with MMCV FFN layouts, the final ``norm1``) so its
checkpoints (converted from timm) load unchanged.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import FFN, PatchEmbed, build_norm_layer, to_2tuple

from ..utils.arch import normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class MixerBlock(BaseModule):
    """Token mixing (an FFN over the token axis, on the normed, transposed
    tokens) then channel mixing (an FFN over the channels), each with a shortcut."""

    def __init__(self, num_tokens, embed_dims, tokens_mlp_dims, channels_mlp_dims, drop_rate=0.,
                 drop_path_rate=0., num_fcs=2, act_cfg=dict(type="GELU"), norm_cfg=dict(type="LN"), init_cfg=None):
        super().__init__(init_cfg)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, embed_dims, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.token_mix = FFN(embed_dims=num_tokens, feedforward_channels=tokens_mlp_dims, num_fcs=num_fcs,
                             ffn_drop=drop_rate, dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
                             act_cfg=act_cfg, add_identity=False)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, embed_dims, postfix=2)
        self.add_module(self.norm2_name, norm2)
        self.channel_mix = FFN(embed_dims=embed_dims, feedforward_channels=channels_mlp_dims, num_fcs=num_fcs,
                               ffn_drop=drop_rate, dropout_layer=dict(type="DropPath", drop_prob=drop_path_rate),
                               act_cfg=act_cfg)

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    @property
    def norm2(self):
        return getattr(self, self.norm2_name)

    def init_weights(self):
        super().init_weights()
        for mlp in (self.token_mix, self.channel_mix):
            for module in mlp.modules():
                if isinstance(module, nn.Linear):
                    nn.init.xavier_uniform_(module.weight)
                    nn.init.normal_(module.bias, std=1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mix(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return self.channel_mix(self.norm2(x), identity=x)


@MODELS.register_module()
class MlpMixer(BaseBackbone):
    """MLP-Mixer.

    Args:
        arch: 's'/'small', 'b'/'base', 'l'/'large', or a dict with exactly
            ``embed_dims``, ``num_layers``, ``tokens_mlp_dims``, ``channels_mlp_dims``.
        img_size: the input size; the token MLPs fix the number of patches, so
            other sizes are refused.
        patch_size: the patch embedding's kernel and stride.
        out_indices: blocks to output (negative counts from the end); each output
            is (B, C, num_tokens); the last block's output is normed (``norm1``).
        drop_rate / drop_path_rate: dropout in the MLPs; stochastic depth (the
            same rate in every block, as MMPretrain).
        layer_cfgs: per-block overrides (a dict for all, or a list).
    """

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(embed_dims=512, num_layers=8, tokens_mlp_dims=256,
                                             channels_mlp_dims=2048)),
        **dict.fromkeys(["b", "base"], dict(embed_dims=768, num_layers=12, tokens_mlp_dims=384,
                                            channels_mlp_dims=3072)),
        **dict.fromkeys(["l", "large"], dict(embed_dims=1024, num_layers=24, tokens_mlp_dims=512,
                                             channels_mlp_dims=4096)),
    }
    essential_keys = ("embed_dims", "num_layers", "tokens_mlp_dims", "channels_mlp_dims")

    def __init__(self, arch: Union[str, Mapping] = "base", img_size=224, patch_size=16,
                 out_indices: Union[int, Sequence[int]] = -1, drop_rate=0., drop_path_rate=0.,
                 norm_cfg=dict(type="LN"), act_cfg=dict(type="GELU"), patch_cfg=dict(), layer_cfgs=dict(),
                 init_cfg=None):
        super().__init__(init_cfg)
        self.arch_settings = select_arch(self, arch, self.arch_zoo, self.essential_keys, allow_extra_keys=False)
        for key in self.essential_keys:
            setattr(self, key, self.arch_settings[key])
        self.img_size = to_2tuple(img_size)
        self.patch_embed = PatchEmbed(**dict(dict(input_size=img_size, embed_dims=self.embed_dims,
                                                  conv_type="Conv2d", kernel_size=patch_size, stride=patch_size),
                                             **patch_cfg))
        self.patch_resolution = self.patch_embed.init_out_size
        num_patches = self.patch_resolution[0] * self.patch_resolution[1]
        self.out_indices = normalize_out_indices(self, out_indices, self.num_layers)
        if isinstance(layer_cfgs, Mapping):
            layer_cfgs = [layer_cfgs] * self.num_layers
        if len(layer_cfgs) != self.num_layers:
            raise ValueError(f"MlpMixer: layer_cfgs needs one dict per layer ({self.num_layers}), "
                             f"got {len(layer_cfgs)}")
        self.layers = nn.ModuleList([MixerBlock(**dict(dict(
            num_tokens=num_patches, embed_dims=self.embed_dims, tokens_mlp_dims=self.tokens_mlp_dims,
            channels_mlp_dims=self.channels_mlp_dims, drop_rate=drop_rate, drop_path_rate=drop_path_rate,
            act_cfg=act_cfg, norm_cfg=norm_cfg), **layer_cfgs[i])) for i in range(self.num_layers)])
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.embed_dims, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.feat_dim = self.embed_dims

    @property
    def norm1(self):
        return getattr(self, self.norm1_name)

    def forward(self, x: torch.Tensor):
        if tuple(x.shape[2:]) != self.img_size:
            raise ValueError(f"MlpMixer: the token MLPs are built for {self.img_size} inputs (img_size); "
                             f"got {tuple(x.shape[2:])}")
        x, _ = self.patch_embed(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == len(self.layers) - 1:
                x = self.norm1(x)
            if i in self.out_indices:
                outs.append(x.transpose(1, 2))
        return tuple(outs)
