"""HorNet (Rao et al., 2022): a ConvNeXt-shaped network whose token mixer is the
recursive gated convolution gnConv -- a projection split into ``order`` parts,
one depthwise conv (or, in the '-gf' archs, a global filter in the Fourier
domain) over all but the first, then ``order`` rounds of gating that double the
width each time: spatial interactions of order n at the cost of a conv.

Module names follow MMPretrain 1.x (``downsample_layers``, ``stages.i.j.gnconv.
{proj_in,dwconv,projs,proj_out}``, ``gamma1``/``gamma2``, ``norm{i}``) so its
checkpoints load unchanged.
"""

import copy
from typing import Mapping, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from loomcls.registry import MODELS
from loomcv.model.bricks import DropPath, activation_checkpoint
from loomcv.model.bricks.transformer import LayerScale
from loomcv.validation import check, check_choice

from ..utils.arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch
from .base_backbone import BaseBackbone


class HorNetLayerNorm(nn.Module):
    """LayerNorm over the channels of (N, H, W, C) ('channels_last') or (N, C, H, W)
    ('channels_first') tensors."""

    def __init__(self, normalized_shape: int, eps: float = 1e-6, data_format: str = "channels_last"):
        super().__init__()
        check_choice(self, "data_format", data_format, ("channels_last", "channels_first"))
        self.weight = nn.Parameter(torch.ones(normalized_shape))
        self.bias = nn.Parameter(torch.zeros(normalized_shape))
        self.eps, self.data_format = eps, data_format
        self.normalized_shape = (normalized_shape,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.data_format == "channels_last":
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


class GlobalLocalFilter(nn.Module):
    """Half the channels through a 3x3 depthwise conv, the other half multiplied by
    a learned filter in the 2-d Fourier domain (``complex_weight``, ``h`` x ``w``
    frequencies, resized to other inputs); the halves are interleaved channel by
    channel and normalized."""

    def __init__(self, dim: int, h: int = 14, w: int = 8):
        super().__init__()
        check(dim % 2 == 0, self, f"dim must be even (half goes to each branch), got {dim}")
        self.dw = nn.Conv2d(dim // 2, dim // 2, 3, padding=1, bias=False, groups=dim // 2)
        self.complex_weight = nn.Parameter(torch.randn(dim // 2, h, w, 2, dtype=torch.float32) * 0.02)
        self.pre_norm = HorNetLayerNorm(dim, eps=1e-6, data_format="channels_first")
        self.post_norm = HorNetLayerNorm(dim, eps=1e-6, data_format="channels_first")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pre_norm(x)
        local, glob = torch.chunk(x, 2, dim=1)
        local = self.dw(local)
        batch, channels, height, width = glob.shape
        spectrum = torch.fft.rfft2(glob.to(torch.float32), dim=(2, 3), norm="ortho")
        weight = self.complex_weight
        if weight.shape[1:3] != spectrum.shape[2:4]:
            weight = F.interpolate(weight.permute(3, 0, 1, 2), size=spectrum.shape[2:4], mode="bilinear",
                                   align_corners=True).permute(1, 2, 3, 0)
        glob = torch.fft.irfft2(spectrum * torch.view_as_complex(weight.contiguous()), s=(height, width),
                                dim=(2, 3), norm="ortho")
        x = torch.stack([local, glob], dim=2).reshape(batch, 2 * channels, height, width)
        return self.post_norm(x)


class gnConv(nn.Module):  # noqa: N801  (MMPretrain's name)
    """Recursive gated convolution of order ``order``.

    ``proj_in`` makes ``dims[0]`` gate channels and ``sum(dims)`` channels for the
    depthwise conv (``dw_cfg``: ``dict(type='DW', kernel_size=7)`` or
    ``dict(type='GF', h=.., w=..)``), where ``dims`` halves from ``dim`` down
    ``order`` times; each round multiplies by the next depthwise slice after a
    1x1 conv to the next width (``projs``); ``proj_out`` mixes the result.
    """

    def __init__(self, dim: int, order: int = 5, dw_cfg: Mapping = dict(type="DW", kernel_size=7),
                 scale: float = 1.0):
        super().__init__()
        check(isinstance(order, int) and order >= 1 and dim % 2 ** (order - 1) == 0, self,
              f"order must be an int >= 1 with dim ({dim}) divisible by 2 ** (order - 1), got {order!r}")
        self.order = order
        self.dims = [dim // 2 ** i for i in range(order)][::-1]
        self.proj_in = nn.Conv2d(dim, 2 * dim, 1)
        cfg = copy.deepcopy(dict(dw_cfg))
        dw_type = cfg.pop("type", None)
        check_choice(self, "dw_cfg type", dw_type, ("DW", "GF"))
        if dw_type == "DW":
            kernel_size = cfg.pop("kernel_size")
            self.dwconv = nn.Conv2d(sum(self.dims), sum(self.dims), kernel_size, padding=(kernel_size - 1) // 2,
                                    groups=sum(self.dims), **cfg)
        else:
            self.dwconv = GlobalLocalFilter(sum(self.dims), **cfg)
        self.proj_out = nn.Conv2d(dim, dim, 1)
        self.projs = nn.ModuleList(nn.Conv2d(self.dims[i], self.dims[i + 1], 1) for i in range(order - 1))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, x = torch.split(self.proj_in(x), (self.dims[0], sum(self.dims)), dim=1)
        slices = torch.split(self.dwconv(x) * self.scale, self.dims, dim=1)
        x = gate * slices[0]
        for proj, dw in zip(self.projs, slices[1:]):
            x = proj(x) * dw
        return self.proj_out(x)


class HorNetBlock(nn.Module):
    """LN -> gnConv and LN -> MLP (4x, GELU, channel-last linears), each scaled by
    a layer scale (``gamma1``/``gamma2``) and added through stochastic depth."""

    def __init__(self, dim: int, order: int = 5, dw_cfg: Mapping = dict(type="DW", kernel_size=7),
                 scale: float = 1.0, drop_path_rate: float = 0., use_layer_scale: bool = True):
        super().__init__()
        self.out_channels = dim
        self.norm1 = HorNetLayerNorm(dim, eps=1e-6, data_format="channels_first")
        self.gnconv = gnConv(dim, order, dw_cfg, scale)
        self.norm2 = HorNetLayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        if use_layer_scale:
            self.gamma1 = LayerScale(dim, data_format="channels_first")
            self.gamma2 = LayerScale(dim)
        else:
            self.gamma1, self.gamma2 = nn.Identity(), nn.Identity()
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0. else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.gamma1(self.gnconv(self.norm1(x))))
        mlp = self.gamma2(self.pwconv2(self.act(self.pwconv1(self.norm2(x.permute(0, 2, 3, 1))))))
        return x + self.drop_path(mlp.permute(0, 3, 1, 2))


_DEPTHS_ORDERS = dict(depths=[2, 3, 18, 2], orders=[2, 3, 4, 5])  # the same for every published arch


def _gf(h14, w8, h7, w4):
    return [dict(type="DW", kernel_size=7), dict(type="DW", kernel_size=7), dict(type="GF", h=h14, w=w8),
            dict(type="GF", h=h7, w=w4)]


@MODELS.register_module()
class HorNet(BaseBackbone):
    """HorNet.

    Args:
        arch: 'tiny', 'small', 'base', 'large' (or 't', 's', 'b', 'l'), their
            global-filter variants '<name>-gf' and 'base-gf384'/'large-gf384'
            (filters sized for 384 px); or a dict with exactly ``base_dim``,
            ``depths``, ``orders`` and ``dw_cfg`` (one per stage; widths are
            ``base_dim * 2**i``).
        drop_path_rate: stochastic depth rising linearly over all blocks.
        scale: factor on the depthwise output inside gnConv.
        use_layer_scale: per-channel scales on both residual branches.
        out_indices: stages to output; each gets its own norm ``norm{i}``.
        frozen_stages: freeze stages ``0..frozen_stages`` (downsample layer,
            blocks and, if it outputs, its norm); -1 freezes nothing.
        with_cp: activation checkpointing per block.
        gap_before_final_norm: average-pool each output before its norm and
            return (N, C) vectors; False returns normalized feature maps.
    """

    arch_zoo = {
        **{name: dict(base_dim=dim, **_DEPTHS_ORDERS, dw_cfg=[dict(type="DW", kernel_size=7)] * 4)
           for names, dim in ((("t", "tiny"), 64), (("s", "small"), 96), (("b", "base"), 128), (("l", "large"), 192))
           for name in names},
        **{name: dict(base_dim=dim, **_DEPTHS_ORDERS, dw_cfg=_gf(14, 8, 7, 4))
           for names, dim in ((("t-gf", "tiny-gf"), 64), (("s-gf", "small-gf"), 96), (("b-gf", "base-gf"), 128),
                              (("l-gf", "large-gf"), 192)) for name in names},
        **{name: dict(base_dim=dim, **_DEPTHS_ORDERS, dw_cfg=_gf(24, 12, 13, 7))
           for names, dim in ((("b-gf384", "base-gf384"), 128), (("l-gf384", "large-gf384"), 192))
           for name in names},
    }

    def __init__(self, arch: Union[str, Mapping] = "tiny", in_channels: int = 3, drop_path_rate: float = 0.,
                 scale: float = 1 / 3, use_layer_scale: bool = True, out_indices: Union[int, Sequence[int]] = (3,),
                 frozen_stages: int = -1, with_cp: bool = False, gap_before_final_norm: bool = True,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        settings = select_arch(self, arch, self.arch_zoo, ("base_dim", "depths", "orders", "dw_cfg"),
                               allow_extra_keys=False)
        self.arch_settings = settings
        depths, orders, dw_cfgs = list(settings["depths"]), list(settings["orders"]), list(settings["dw_cfg"])
        check(len(depths) == len(orders) == len(dw_cfgs) == 4, self,
              f"arch depths, orders and dw_cfg need one entry per stage (4), got {depths}, {orders}, {dw_cfgs}")
        self.scale, self.with_cp, self.gap_before_final_norm = scale, with_cp, gap_before_final_norm
        self.out_indices = normalize_out_indices(self, out_indices, 4)
        self.frozen_stages = check_frozen_stages(self, frozen_stages, 3)
        dims = [settings["base_dim"] * 2 ** i for i in range(4)]
        self.dims = dims

        self.downsample_layers = nn.ModuleList([nn.Sequential(
            nn.Conv2d(in_channels, dims[0], kernel_size=4, stride=4),
            HorNetLayerNorm(dims[0], eps=1e-6, data_format="channels_first"))])
        for i in range(3):
            self.downsample_layers.append(nn.Sequential(
                HorNetLayerNorm(dims[i], eps=1e-6, data_format="channels_first"),
                nn.Conv2d(dims[i], dims[i + 1], kernel_size=2, stride=2)))
        rates = drop_path_rates(drop_path_rate, sum(depths))
        self.stages, first = nn.ModuleList(), 0
        for i in range(4):
            self.stages.append(nn.Sequential(*[
                HorNetBlock(dims[i], order=orders[i], dw_cfg=dw_cfgs[i], scale=scale,
                            drop_path_rate=rates[first + j], use_layer_scale=use_layer_scale)
                for j in range(depths[i])]))
            first += depths[i]
        for i in self.out_indices:
            self.add_module(f"norm{i}", HorNetLayerNorm(dims[i], eps=1e-6, data_format="channels_first"))
        self.feat_dim = dims[self.out_indices[-1]] if self.out_indices else dims[-1]
        self._freeze_stages()

    def frozen_modules(self):
        # MMPretrain looks the norm up as norm{i + 1}; the norm of stage i is norm{i}
        modules = []
        for i in range(self.frozen_stages + 1):
            modules += [self.downsample_layers[i], self.stages[i]]
            if i in self.out_indices:
                modules.append(getattr(self, f"norm{i}"))
        return modules

    def forward(self, x: torch.Tensor):
        outs = []
        for i in range(4):
            x = self.downsample_layers[i](x)
            for block in self.stages[i]:
                x = activation_checkpoint(block, x, enabled=self.with_cp and x.requires_grad)
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                if self.gap_before_final_norm:
                    outs.append(norm(x.mean([-2, -1], keepdim=True)).flatten(1))
                else:
                    outs.append(norm(x).contiguous())
        return tuple(outs)
