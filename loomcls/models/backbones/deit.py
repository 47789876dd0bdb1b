"""DeiT's distilled Vision Transformer (Touvron et al., 2021): a ViT with a second
learned token, the distillation token, trained to match a teacher's prediction;
at test time its head's score is averaged with the class token's.

Key names follow MMPretrain 1.x (the ViT's, plus ``dist_token``; ``pos_embed``
covers both extra tokens) so its checkpoints load unchanged. The plain DeiT
models are :class:`VisionTransformer` with the 'deit-*' archs.
"""

import torch
import torch.nn as nn

from loomcls.registry import MODELS
from loomcv.model.bricks.transformer import resize_pos_embed

from .vision_transformer import VisionTransformer


@MODELS.register_module()
class DistilledVisionTransformer(VisionTransformer):
    """Vision Transformer with a distillation token after the class token.

    Takes the :class:`VisionTransformer` arguments (``arch`` defaults to
    'deit-base'; a class token is always used). With ``out_type='cls_token'``
    each output is the pair ``(class token, distillation token)``; frozen
    stages freeze the distillation token with the class token.
    """

    num_extra_tokens = 2  # the class and the distillation tokens

    def __init__(self, arch="deit-base", *args, **kwargs):
        kwargs["with_cls_token"] = True
        super().__init__(arch, *args, **kwargs)
        self.dist_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self._freeze_stages()

    def init_weights(self):
        super().init_weights()
        if not (isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained"):
            nn.init.trunc_normal_(self.dist_token, std=0.02)

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages > 0 and getattr(self, "dist_token", None) is not None:
            self.dist_token.requires_grad = False

    def forward(self, x: torch.Tensor):
        batch = x.shape[0]
        x, patch_resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(batch, -1, -1), self.dist_token.expand(batch, -1, -1), x), dim=1)
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
        if self.out_type == "cls_token":
            return x[:, 0], x[:, 1]
        return super()._format_output(x, hw)

    def get_layer_depth(self, param_name: str, prefix: str = ""):
        """As the ViT's, with the distillation token among the embeddings (depth 0)."""
        if param_name == prefix + "dist_token":
            return 0, self.num_layers + 2
        return super().get_layer_depth(param_name, prefix)
