"""2-D rotary position embedding (RoPE) for patch tokens, as EVA-02 uses it in MMPretrain.

Half of each head's channels rotate with the token's row, half with its column;
the cos/sin tables are buffers (``freqs_cos``/``freqs_sin``), recomputed when
the input's patch grid differs from the one they were built for.
"""

from typing import Sequence, Union

import torch
from torch import nn


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class RotaryEmbeddingFast(nn.Module):
    """Rotate (B, heads, tokens, head_dims) queries/keys by their 2-D patch position."""

    def __init__(self, embed_dims: int, patch_resolution: Union[int, Sequence[int]], theta: float = 10000.0,
                 init_cfg=None):
        super().__init__()
        self.half_dim = embed_dims // 2
        self.patch_resolution = _pair(patch_resolution)
        self.theta = theta
        freqs_cos, freqs_sin = self.compute_position_embedding()
        self.register_buffer("freqs_cos", freqs_cos)
        self.register_buffer("freqs_sin", freqs_sin)

    def compute_position_embedding(self):
        frequency = 1.0 / self.theta ** (torch.arange(0, self.half_dim, 2).float() / self.half_dim)
        h, w = self.patch_resolution
        th = torch.arange(h) / h * self.half_dim
        tw = torch.arange(w) / w * self.half_dim
        # MMPretrain tiles (not interleaves) the frequencies over each half
        position_h = (th[:, None] @ frequency[None, :]).repeat(1, 2)
        position_w = (tw[:, None] @ frequency[None, :]).repeat(1, 2)
        height = position_h[:, None, :].expand(h, w, self.half_dim)
        width = position_w[None, :, :].expand(h, w, self.half_dim)
        position = torch.cat((height, width), dim=-1).reshape(h * w, -1)
        return position.cos(), position.sin()

    def forward(self, x: torch.Tensor, patch_resolution) -> torch.Tensor:
        patch_resolution = _pair(patch_resolution)
        if patch_resolution != self.patch_resolution:
            self.patch_resolution = patch_resolution
            cos, sin = self.compute_position_embedding()
            self.freqs_cos, self.freqs_sin = cos.to(x.device), sin.to(x.device)
        batch, heads, tokens, dims = x.shape
        pairs = x.reshape(batch, heads, tokens, -1, 2)
        rotated = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).reshape(batch, heads, tokens, dims)
        return x * self.freqs_cos + rotated * self.freqs_sin


def attention_offset_index(key_shape: Sequence[int], query_shape: Sequence[int] = None, stride: int = 1):
    """LeViT/TinyViT attention biases: ``(number of distinct offsets, (Q, K) index)``.

    Every (query, key) pair of two row-major grids gets the id of its offset
    ``(|qy * stride - ky|, |qx * stride - kx|)``; ids are numbered in order of first
    appearance, scanning queries then keys, as the reference loops number them (so
    checkpoints' ``attention_biases`` columns line up).
    """
    query_shape = key_shape if query_shape is None else query_shape

    def grid(shape):
        ys, xs = torch.meshgrid(torch.arange(shape[0], device="cpu"), torch.arange(shape[1], device="cpu"),
                                indexing="ij")
        return torch.stack((ys.flatten(), xs.flatten()), dim=1)

    q, k = grid(query_shape) * stride, grid(key_shape)
    offsets = (q[:, None, :] - k[None, :, :]).abs()  # (Q, K, 2)
    codes = (offsets[..., 0] * (max(key_shape[1], query_shape[1] * stride) + 1) + offsets[..., 1]).flatten()
    unique, inverse = torch.unique(codes, return_inverse=True)
    first = torch.full((len(unique),), len(codes), dtype=torch.long).scatter_reduce(
        0, inverse, torch.arange(len(codes)), reduce="amin")
    rank = torch.empty_like(first)
    rank[torch.argsort(first)] = torch.arange(len(unique))
    return len(unique), rank[inverse].view(len(q), len(k))
