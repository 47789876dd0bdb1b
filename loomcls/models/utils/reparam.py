"""Folding batch norms and parallel branches into one convolution (structural re-parameterization).

RepVGG, MobileOne and LeViT train with several conv+BN branches (or a BN
shortcut) and deploy one plain convolution: BN in eval mode is an affine map
per channel, so ``bn(conv(x))`` is a conv with scaled weights and a bias, and
branches summed before the activation are one conv with summed kernels.
"""

from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from loomcv.errors import ConfigError


def fuse_conv_bn(weight: Optional[torch.Tensor], bn: nn.Module) -> Tuple[torch.Tensor, torch.Tensor]:
    """Kernel and bias of ``bn(conv(x))`` for a bias-free conv with ``weight`` (eval-mode BN statistics)."""
    std = (bn.running_var + bn.eps).sqrt()
    scale = bn.weight / std if bn.weight is not None else 1.0 / std
    shift = bn.bias if bn.bias is not None else torch.zeros_like(std)
    bias = shift - bn.running_mean * scale
    return weight * scale.reshape(-1, *([1] * (weight.dim() - 1))), bias


def identity_kernel(channels: int, groups: int, kernel_size: int, like: torch.Tensor) -> torch.Tensor:
    """The ``kernel_size`` (grouped) conv kernel that maps x to itself."""
    in_per_group = channels // groups
    kernel = torch.zeros(channels, in_per_group, kernel_size, kernel_size, dtype=like.dtype, device=like.device)
    centre = kernel_size // 2
    for c in range(channels):
        kernel[c, c % in_per_group, centre, centre] = 1.0
    return kernel


def pad_kernel(kernel: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """Zero-pad a smaller square kernel (1x1) to ``kernel_size``, centred."""
    pad = (kernel_size - kernel.shape[-1]) // 2
    return F.pad(kernel, [pad] * 4) if pad > 0 else kernel


def fuse_bn_shortcut(bn: nn.Module, groups: int, kernel_size: int, like: torch.Tensor):
    """Kernel and bias of a BN-only identity branch, as a ``kernel_size`` conv."""
    return fuse_conv_bn(identity_kernel(bn.num_features, groups, kernel_size, like), bn)


def switch_block_to_deploy(block: nn.Module, branches: Tuple[str, ...]) -> None:
    """Replace a re-parameterizable block's training ``branches`` by the one conv they equal:
    ``block.reparameterize()`` gives its kernel and bias, ``block._reparam_conv()`` the empty conv.
    The folding is exact only for BatchNorm, so other norms are refused."""
    if block.deploy:
        return
    if block.norm_cfg.get("type") not in ("BN", "BN2d", "SyncBN"):
        raise ConfigError(f"{type(block).__name__}.switch_to_deploy needs norm_cfg type 'BN', got {block.norm_cfg!r}")
    weight, bias = block.reparameterize()
    block.branch_reparam = block._reparam_conv().to(weight.device, weight.dtype)
    block.branch_reparam.weight.data.copy_(weight.detach())
    block.branch_reparam.bias.data.copy_(bias.detach())
    for name in branches:
        delattr(block, name)
    block.deploy = True
