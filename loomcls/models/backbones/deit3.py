"""DeiT III (Touvron et al., 2022): a ViT with layer scale in every block whose class
token is added after the position embedding (so ``pos_embed`` covers patches only).

Arch names (s/m/b/l/h), arguments and keys follow MMPretrain 1.x
(``attn.gamma1.weight``, ``ffn.gamma2.weight``, ``ln1``/``ln2``).
"""

import torch

from loomcls.registry import MODELS
from loomcv.model.bricks import resize_pos_embed

from .vision_transformer import VisionTransformer


@MODELS.register_module()
class DeiT3(VisionTransformer):
    """DeiT III backbone; arguments as VisionTransformer plus ``use_layer_scale`` (1e-5 init)."""

    arch_zoo = {
        **dict.fromkeys(["s", "small"], dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536)),
        **dict.fromkeys(["m", "medium"], dict(embed_dims=512, num_layers=12, num_heads=8, feedforward_channels=2048)),
        **dict.fromkeys(["b", "base"], dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072)),
        **dict.fromkeys(["l", "large"], dict(embed_dims=1024, num_layers=24, num_heads=16,
                                             feedforward_channels=4096)),
        **dict.fromkeys(["h", "huge"], dict(embed_dims=1280, num_layers=32, num_heads=16,
                                            feedforward_channels=5120)),
    }
    num_extra_tokens = 0  # the position embedding has no class-token entry

    def __init__(self, arch="base", img_size=224, patch_size=16, in_channels=3, out_indices=-1, drop_rate=0.0,
                 drop_path_rate=0.0, qkv_bias=True, norm_cfg=dict(type="LN", eps=1e-6), final_norm=True,
                 out_type="cls_token", with_cls_token=True, use_layer_scale=True, frozen_stages=-1,
                 interpolate_mode="bicubic", patch_cfg=dict(), layer_cfgs=dict(), init_cfg=None):
        scale = 1e-5 if use_layer_scale else 0.0
        super().__init__(arch=arch, img_size=img_size, patch_size=patch_size, in_channels=in_channels,
                         out_indices=out_indices, drop_rate=drop_rate, drop_path_rate=drop_path_rate,
                         qkv_bias=qkv_bias, norm_cfg=norm_cfg, final_norm=final_norm, out_type=out_type,
                         with_cls_token=with_cls_token, frozen_stages=frozen_stages,
                         interpolate_mode=interpolate_mode, layer_scale_init_value=scale, patch_cfg=patch_cfg,
                         layer_cfgs=layer_cfgs, init_cfg=init_cfg)
        self.num_extra_tokens = 0

    def forward(self, x):
        x, patch_resolution = self.patch_embed(x)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode, num_extra_tokens=0)
        x = self.drop_after_pos(x)
        if self.cls_token is not None:
            x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x, hw):
        if self.out_type in ("raw", "cls_token"):
            return super()._format_output(x, hw)
        tokens = 1 if self.cls_token is not None else 0
        patch_tokens = x[:, tokens:]
        if self.out_type == "featmap":
            return patch_tokens.reshape(x.shape[0], *hw, -1).permute(0, 3, 1, 2)
        return self.ln2(patch_tokens.mean(dim=1))
