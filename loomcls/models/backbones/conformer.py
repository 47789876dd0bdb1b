"""Conformer (Peng et al., 2021): a ResNet-like CNN branch and a ViT branch run
side by side, exchanging features in every block (feature coupling units: the
CNN's middle map pooled into tokens, the tokens upsampled back into a map), so
local and global representations refine each other.

Module names follow MMPretrain 1.x (``conv1``/``bn1`` stem, ``conv_1``,
``trans_patch_conv``, ``trans_1``, ``conv_trans_{2..12}.{cnn_block,fusion_block,
squeeze_block,expand_block,trans_block}``, ``trans_norm``) so its checkpoints load.
"""

from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model import BaseModule
from loomcv.model.bricks import DropPath, build_activation_layer, build_norm_layer
from loomcv.model.bricks.transformer import AdaptivePadding
from loomcv.validation import check

from ..utils.arch import select_arch
from .base_backbone import BaseBackbone
from .vision_transformer import TransformerEncoderLayer


class ConvBlock(BaseModule):
    """A bottleneck (1x1, 3x3 with ``stride``/``groups``, 1x1; 4x expansion) that can
    add an outside map to the input of its 3x3 conv (``fusion_features``) and
    return that conv's output too (``out_conv2``); ``with_residual_conv`` projects
    the shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, groups: int = 1,
                 drop_path_rate: float = 0., with_residual_conv: bool = False,
                 norm_cfg: Mapping = dict(type="BN", eps=1e-6), act_cfg: Mapping = dict(type="ReLU", inplace=True),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        mid_channels = out_channels // 4
        self.conv1 = nn.Conv2d(in_channels, mid_channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act1 = build_activation_layer(act_cfg)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride=stride, groups=groups, padding=1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.act2 = build_activation_layer(act_cfg)
        self.conv3 = nn.Conv2d(mid_channels, out_channels, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act3 = build_activation_layer(act_cfg)
        if with_residual_conv:
            self.residual_conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            self.residual_bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.with_residual_conv = with_residual_conv
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0. else nn.Identity()

    def zero_init_last_bn(self):
        nn.init.zeros_(self.bn3.weight)

    def forward(self, x, fusion_features=None, out_conv2=True):
        identity = x
        x = self.act1(self.bn1(self.conv1(x)))
        x2 = self.act2(self.bn2(self.conv2(x if fusion_features is None else x + fusion_features)))
        x = self.drop_path(self.bn3(self.conv3(x2)))
        if self.with_residual_conv:
            identity = self.residual_bn(self.residual_conv(identity))
        x = self.act3(x + identity)
        return (x, x2) if out_conv2 else x


class FCUDown(BaseModule):
    """CNN map -> tokens: 1x1 conv, ``down_stride`` average pooling, LN, act; the
    class token of the transformer input is put in front."""

    def __init__(self, in_channels: int, out_channels: int, down_stride: int, with_cls_token: bool = True,
                 norm_cfg: Mapping = dict(type="LN", eps=1e-6), act_cfg: Mapping = dict(type="GELU"), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.down_stride, self.with_cls_token = down_stride, with_cls_token
        self.conv_project = nn.Conv2d(in_channels, out_channels, 1)
        self.sample_pooling = nn.AvgPool2d(kernel_size=down_stride, stride=down_stride)
        self.ln = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, x, x_t):
        x = self.act(self.ln(self.sample_pooling(self.conv_project(x)).flatten(2).transpose(1, 2)))
        return torch.cat([x_t[:, :1], x], dim=1) if self.with_cls_token else x


class FCUUp(BaseModule):
    """Tokens -> CNN map: drop the class token, 1x1 conv, BN, act, nearest
    upsampling by ``up_stride``."""

    def __init__(self, in_channels: int, out_channels: int, up_stride: int, with_cls_token: bool = True,
                 norm_cfg: Mapping = dict(type="BN", eps=1e-6), act_cfg: Mapping = dict(type="ReLU", inplace=True),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.up_stride, self.with_cls_token = up_stride, with_cls_token
        self.conv_project = nn.Conv2d(in_channels, out_channels, 1)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg)

    def forward(self, x, h, w):
        batch, _, channels = x.shape
        tokens = x[:, 1:] if self.with_cls_token else x
        x_r = self.act(self.bn(self.conv_project(tokens.transpose(1, 2).reshape(batch, channels, h, w))))
        return F.interpolate(x_r, size=(h * self.up_stride, w * self.up_stride))


class ConvTransBlock(BaseModule):
    """One coupled block: a conv block, its middle map squeezed into tokens and
    added to the transformer input, a transformer layer, its output expanded back
    into a map and fused into a second conv block (``fusion_block``; stride 2 in
    the last block, ``last_fusion``)."""

    def __init__(self, in_channels: int, out_channels: int, embed_dims: int, conv_stride: int = 1, groups: int = 1,
                 with_residual_conv: bool = False, down_stride: int = 4, num_heads: int = 12, mlp_ratio: float = 4.,
                 qkv_bias: bool = False, with_cls_token: bool = True, drop_rate: float = 0.,
                 attn_drop_rate: float = 0., drop_path_rate: float = 0., last_fusion: bool = False, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.cnn_block = ConvBlock(in_channels, out_channels, with_residual_conv=with_residual_conv,
                                   stride=conv_stride, groups=groups)
        self.fusion_block = ConvBlock(out_channels, out_channels, stride=2 if last_fusion else 1,
                                      with_residual_conv=last_fusion, groups=groups, drop_path_rate=drop_path_rate)
        self.squeeze_block = FCUDown(out_channels // 4, embed_dims, down_stride, with_cls_token=with_cls_token)
        self.expand_block = FCUUp(embed_dims, out_channels // 4, down_stride, with_cls_token=with_cls_token)
        self.trans_block = TransformerEncoderLayer(embed_dims, num_heads, int(embed_dims * mlp_ratio),
                                                   drop_rate=drop_rate, drop_path_rate=drop_path_rate,
                                                   attn_drop_rate=attn_drop_rate, qkv_bias=qkv_bias,
                                                   norm_cfg=dict(type="LN", eps=1e-6))
        self.down_stride, self.embed_dim, self.last_fusion = down_stride, embed_dims, last_fusion

    def forward(self, cnn_input, trans_input):
        x, x_conv2 = self.cnn_block(cnn_input, out_conv2=True)
        h, w = x_conv2.shape[2:]
        trans_output = self.trans_block(self.squeeze_block(x_conv2, trans_input) + trans_input)
        trans_features = self.expand_block(trans_output, h // self.down_stride, w // self.down_stride)
        return self.fusion_block(x, fusion_features=trans_features, out_conv2=False), trans_output


@MODELS.register_module()
class Conformer(BaseBackbone):
    """Conformer.

    Args:
        arch: 'tiny', 'small', 'base' (or 't', 's', 'b'), or a dict with exactly
            ``embed_dims``, ``channel_ratio``, ``num_heads`` and ``depths`` (a
            multiple of 3: blocks 2.. are split into three CNN resolutions).
        patch_size: a multiple of 16; the transformer's token stride.
        base_channels: CNN width before ``channel_ratio``.
        mlp_ratio / qkv_bias / with_cls_token / drop_path_rate: of the
            transformer layers (stochastic depth rising linearly).
        out_indices: block numbers 2..depths (-1 is the last); each output is a
            pair ``[pooled CNN feature (B, C), transformer feature (B, D)]`` (the
            normed class token, or the mean token without one).
        norm_eval / frozen_stages: accepted as in MMPretrain, where Conformer
            ignores them; BN layers keep training and nothing can be frozen
            (frozen_stages other than 0 or -1 is refused rather than ignored).
    """

    arch_zoo = {
        **dict.fromkeys(["t", "tiny"], dict(embed_dims=384, channel_ratio=1, num_heads=6, depths=12)),
        **dict.fromkeys(["s", "small"], dict(embed_dims=384, channel_ratio=4, num_heads=6, depths=12)),
        **dict.fromkeys(["b", "base"], dict(embed_dims=576, channel_ratio=6, num_heads=9, depths=12)),
    }
    _version = 1

    def __init__(self, arch: Union[str, Mapping] = "tiny", patch_size: int = 16, base_channels: int = 64,
                 mlp_ratio: float = 4., qkv_bias: bool = True, with_cls_token: bool = True,
                 drop_path_rate: float = 0., norm_eval: bool = True, frozen_stages: int = 0,
                 out_indices: Union[int, Sequence[int]] = -1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_zoo, ("embed_dims", "channel_ratio", "num_heads", "depths"),
                               allow_extra_keys=False)
        self.arch_settings = settings
        self.num_features = self.embed_dims = settings["embed_dims"]
        self.depths, self.num_heads = settings["depths"], settings["num_heads"]
        self.channel_ratio = settings["channel_ratio"]
        check(isinstance(self.depths, int) and self.depths >= 3 and self.depths % 3 == 0, self,
              f"arch depths must be a positive multiple of 3, got {self.depths!r}")
        check(isinstance(patch_size, int) and patch_size > 0 and patch_size % 16 == 0, self,
              f"patch_size must be a positive multiple of 16, got {patch_size!r}")
        check(frozen_stages in (-1, 0), self,
              f"frozen_stages is not supported (MMPretrain's Conformer ignores it); got {frozen_stages!r}, use 0")
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        indices = [self.depths + i + 1 if isinstance(i, int) and i < 0 else i for i in indices]
        bad = [i for i in indices if not isinstance(i, int) or not 2 <= i <= self.depths]
        check(not bad, self, f"out_indices are block numbers 2..{self.depths} (or -1 for the last), got "
                             f"{list(out_indices) if isinstance(out_indices, Sequence) else out_indices!r}")
        self.out_indices = indices
        # MMPretrain keeps both without using them; the attribute names stay clear of BaseBackbone's norm_eval
        self.requested_norm_eval, self.frozen_stages = norm_eval, frozen_stages
        self.with_cls_token = with_cls_token
        if with_cls_token:
            self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.trans_dpr = [drop_path_rate * i / (self.depths - 1) for i in range(self.depths)]

        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        trans_down_stride = patch_size // 4
        self.auto_pad = AdaptivePadding(trans_down_stride, trans_down_stride)

        stage1 = int(base_channels * self.channel_ratio)
        self.conv_1 = ConvBlock(64, stage1, with_residual_conv=True, stride=1)
        self.trans_patch_conv = nn.Conv2d(64, self.embed_dims, trans_down_stride, stride=trans_down_stride)
        self.trans_1 = TransformerEncoderLayer(self.embed_dims, self.num_heads, int(self.embed_dims * mlp_ratio),
                                               drop_path_rate=self.trans_dpr[0], qkv_bias=qkv_bias,
                                               norm_cfg=dict(type="LN", eps=1e-6))
        common = dict(embed_dims=self.embed_dims, num_heads=self.num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias,
                      with_cls_token=with_cls_token)
        third = self.depths // 3
        # three CNN resolutions: blocks 2..third, third+1..2*third, 2*third+1..depths
        widths = [stage1, stage1 * 2, stage1 * 4]
        starts = [2, third + 1, 2 * third + 1]
        ends = [third + 1, 2 * third + 1, self.depths + 1]
        for part, (start, end) in enumerate(zip(starts, ends)):
            for i in range(start, end):
                first = i == start and part > 0
                self.add_module(f"conv_trans_{i}", ConvTransBlock(
                    in_channels=widths[part - 1] if first else widths[part], out_channels=widths[part],
                    conv_stride=2 if first else 1, with_residual_conv=first,
                    down_stride=trans_down_stride // 2 ** part, drop_path_rate=self.trans_dpr[i - 1],
                    last_fusion=i == self.depths, **common))
        self.fin_stage = self.depths + 1
        self.pooling = nn.AdaptiveAvgPool2d(1)
        self.trans_norm = nn.LayerNorm(self.embed_dims)
        self.feat_dim = [widths[-1], self.embed_dims]
        if with_cls_token:
            nn.init.trunc_normal_(self.cls_token, std=.02)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=.02)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)
        elif isinstance(m, nn.LayerNorm):
            nn.init.constant_(m.bias, 0)
            nn.init.constant_(m.weight, 1.0)
        elif isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1.)
            nn.init.constant_(m.bias, 0.)
        if isinstance(m, ConvBlock):
            m.zero_init_last_bn()

    def init_weights(self):
        super().init_weights()
        if isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained":
            return  # the checkpoint's values stay
        self.apply(self._init_weights)

    def forward(self, x: torch.Tensor):
        outs = []
        x_base = self.auto_pad(self.maxpool(self.act1(self.bn1(self.conv1(x)))))
        x = self.conv_1(x_base, out_conv2=False)
        x_t = self.trans_patch_conv(x_base).flatten(2).transpose(1, 2)
        if self.with_cls_token:
            x_t = torch.cat([self.cls_token.expand(x_t.shape[0], -1, -1), x_t], dim=1)
        x_t = self.trans_1(x_t)
        for i in range(2, self.fin_stage):
            x, x_t = getattr(self, f"conv_trans_{i}")(x, x_t)
            if i in self.out_indices:
                tokens = self.trans_norm(x_t)
                outs.append([self.pooling(x).flatten(1), tokens[:, 0] if self.with_cls_token else tokens.mean(1)])
        return tuple(outs)
