"""DeiT's distilled Vision Transformer (Touvron et al., 2021): a second learned token
(``dist_token``) beside the class token, trained to match a teacher's predictions.
Keys and outputs follow MMPretrain 1.x: with ``out_type='cls_token'`` each output is
the pair (class token, distillation token), which DeiTClsHead consumes."""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks import resize_pos_embed

from .vision_transformer import VisionTransformer


@MODELS.register_module()
class DistilledVisionTransformer(VisionTransformer):
    """VisionTransformer with a distillation token (arguments as VisionTransformer)."""

    num_extra_tokens = 2  # class token, distillation token

    def __init__(self, arch="deit-base", *args, **kwargs):
        kwargs.pop("with_cls_token", None)  # both tokens are always used
        super().__init__(arch, *args, with_cls_token=True, **kwargs)
        self.dist_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self._freeze_stages()

    def init_weights(self):
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained"
        if not pretrained:
            nn.init.trunc_normal_(self.dist_token, std=0.02)

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages > 0 and getattr(self, "dist_token", None) is not None:
            self.dist_token.requires_grad = False

    def forward(self, x):
        x, patch_resolution = self.patch_embed(x)
        batch = x.shape[0]
        x = torch.cat((self.cls_token.expand(batch, -1, -1), self.dist_token.expand(batch, -1, -1), x), dim=1)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, patch_resolution,
                                 mode=self.interpolate_mode, num_extra_tokens=self.num_extra_tokens)
        x = self.drop_after_pos(x)
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i == self.num_layers - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(self._format_output(x, patch_resolution))
        return tuple(outs)

    def _format_output(self, x, hw):
        if self.out_type == "cls_token":
            return x[:, 0], x[:, 1]
        return super()._format_output(x, hw)
