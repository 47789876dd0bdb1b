"""Points tiled over multi-level feature maps: the priors of anchor-free heads (FCOS)."""

import math
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS
from .anchor_generator import _meshgrid, _pair


@TASK_UTILS.register_module()
class MlvlPointGenerator:
    """One point per feature-map cell, at ``(col + offset, row + offset) * stride``.

    Args:
        strides: per level, an int or a ``(w, h)`` pair.
        offset: position of the point inside its cell, as a fraction of the
            stride (0.5 is the cell center).
    """

    def __init__(self, strides: Sequence, offset: float = 0.5) -> None:
        self.strides = [_pair(stride) for stride in strides]
        self.offset = offset

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> List[int]:
        """Points per cell, per level (always 1)."""
        return [1 for _ in range(len(self.strides))]

    def _check_levels(self, what: str, featmap_sizes: Sequence) -> None:
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"MlvlPointGenerator.{what}: featmap_sizes needs one (h, w) per level "
                             f"({self.num_levels}), got {len(featmap_sizes)}")

    def grid_priors(self, featmap_sizes: Sequence[Tuple[int, int]], dtype: torch.dtype = torch.float32,
                    device="cuda", with_stride: bool = False) -> List[Tensor]:
        """Points of every level: ``(h * w, 2)`` each, or ``(h * w, 4)`` with the strides appended."""
        self._check_levels("grid_priors", featmap_sizes)
        return [self.single_level_grid_priors(featmap_sizes[i], level_idx=i, dtype=dtype, device=device,
                                              with_stride=with_stride)
                for i in range(self.num_levels)]

    def single_level_grid_priors(self, featmap_size: Tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32, device="cuda",
                                 with_stride: bool = False) -> Tensor:
        """Points of one level, row by row (x varies fastest)."""
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        shift_x = ((torch.arange(0, feat_w, device=device) + self.offset) * stride_w).to(dtype)
        shift_y = ((torch.arange(0, feat_h, device=device) + self.offset) * stride_h).to(dtype)
        shift_xx, shift_yy = _meshgrid(shift_x, shift_y)
        if not with_stride:
            return torch.stack([shift_xx, shift_yy], dim=-1)
        strides_w = shift_xx.new_full((shift_xx.shape[0],), stride_w).to(dtype)
        strides_h = shift_xx.new_full((shift_yy.shape[0],), stride_h).to(dtype)
        return torch.stack([shift_xx, shift_yy, strides_w, strides_h], dim=-1)

    def valid_flags(self, featmap_sizes: Sequence[Tuple[int, int]], pad_shape: Sequence[int],
                    device="cuda") -> List[Tensor]:
        """Per level, which points sit on cells inside ``pad_shape[:2]`` (the unpadded image)."""
        self._check_levels("valid_flags", featmap_sizes)
        h, w = pad_shape[:2]
        flags = []
        for i in range(self.num_levels):
            stride_w, stride_h = self.strides[i]
            feat_h, feat_w = featmap_sizes[i]
            valid_h = min(int(math.ceil(h / stride_h)), feat_h)
            valid_w = min(int(math.ceil(w / stride_w)), feat_w)
            flags.append(self.single_level_valid_flags((feat_h, feat_w), (valid_h, valid_w), device=device))
        return flags

    def single_level_valid_flags(self, featmap_size: Tuple[int, int], valid_size: Tuple[int, int],
                                 device="cuda") -> Tensor:
        """``(h * w,)`` bools: True for cells in the top-left ``valid_size``."""
        feat_h, feat_w = featmap_size
        valid_h, valid_w = valid_size
        if valid_h > feat_h or valid_w > feat_w:
            raise ValueError(f"MlvlPointGenerator: valid_size {valid_size} exceeds featmap_size {featmap_size}")
        valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
        valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
        valid_x[:valid_w] = True
        valid_y[:valid_h] = True
        valid_xx, valid_yy = _meshgrid(valid_x, valid_y)
        return valid_xx & valid_yy

    def sparse_priors(self, prior_idxs: Tensor, featmap_size: Tuple[int, int], level_idx: int,
                      dtype: torch.dtype = torch.float32, device="cuda") -> Tensor:
        """The points at flat indices ``prior_idxs`` of :meth:`single_level_grid_priors`."""
        height, width = featmap_size
        x = (prior_idxs % width + self.offset) * self.strides[level_idx][0]
        y = ((prior_idxs // width) % height + self.offset) * self.strides[level_idx][1]
        return torch.stack([x, y], 1).to(dtype).to(device)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(strides={self.strides}, offset={self.offset}, num_levels={self.num_levels})"
