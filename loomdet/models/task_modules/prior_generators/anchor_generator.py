"""Anchors tiled over multi-level feature maps (RetinaNet, RPN, Faster R-CNN...)."""

import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor

from loomdet.registry import TASK_UTILS


def _pair(value) -> Tuple:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ValueError(f"AnchorGenerator: a stride is an int or a (w, h) pair, got {value!r}")
        return tuple(value)
    return (value, value)


def _meshgrid(x: Tensor, y: Tensor, row_major: bool = True) -> Tuple[Tensor, Tensor]:
    """Flattened grid coordinates, x varying fastest (row by row)."""
    xx = x.repeat(y.shape[0])
    yy = y.view(-1, 1).repeat(1, x.shape[0]).view(-1)
    return (xx, yy) if row_major else (yy, xx)


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Standard anchors for 2D anchor-based detectors.

    At every feature-map cell of level ``i`` it places
    ``len(ratios) * len(scales)`` anchors of base size ``base_sizes[i]``
    centered on the cell's top-left corner shifted by ``center_offset``
    (or by ``centers[i]``), for a map of stride ``strides[i]``.

    Args:
        strides: per level, an int or a ``(w, h)`` pair.
        ratios: height / width ratios.
        scales: anchor scales (multiples of the base size); give either these
            or ``octave_base_scale`` with ``scales_per_octave``.
        base_sizes: per level; default the level's (smaller) stride.
        scale_major: order base anchors scale-first within each ratio
            (True) or ratio-first within each scale (False).
        octave_base_scale: RetinaNet-style scales
            ``octave_base_scale * 2 ** (i / scales_per_octave)``.
        scales_per_octave: see ``octave_base_scale``.
        centers: per level, an ``(x, y)`` anchor center within a cell.
        center_offset: anchor center as a fraction of the base size, in
            ``[0, 1]``; cannot be combined with ``centers``.
        use_box_type: MMDetection wraps anchors in ``HorizontalBoxes`` when
            True; loomdet returns plain tensors, so only False is accepted.
    """

    def __init__(self, strides: Sequence, ratios: Sequence[float], scales: Optional[Sequence[float]] = None,
                 base_sizes: Optional[Sequence] = None, scale_major: bool = True,
                 octave_base_scale: Optional[float] = None, scales_per_octave: Optional[int] = None,
                 centers: Optional[Sequence[Tuple[float, float]]] = None, center_offset: float = 0.,
                 use_box_type: bool = False) -> None:
        name = type(self).__name__
        if center_offset != 0 and centers is not None:
            raise ValueError(f"{name}: centers cannot be set when center_offset != 0, got centers={centers!r} "
                             f"and center_offset={center_offset!r}")
        if not 0 <= center_offset <= 1:
            raise ValueError(f"{name}: center_offset must be in [0, 1], got {center_offset!r}")
        if centers is not None and len(centers) != len(strides):
            raise ValueError(f"{name}: centers needs one (x, y) per stride ({len(strides)}), got {len(centers)}")
        if use_box_type:
            raise ValueError(f"{name}: use_box_type=True (box-list output) is not supported; anchors are tensors")

        self.strides = [_pair(stride) for stride in strides]
        self.base_sizes = [min(stride) for stride in self.strides] if base_sizes is None else list(base_sizes)
        if len(self.base_sizes) != len(self.strides):
            raise ValueError(f"{name}: base_sizes needs one value per stride ({len(self.strides)}), "
                             f"got {self.base_sizes!r}")

        octave = octave_base_scale is not None and scales_per_octave is not None
        if octave == (scales is not None):
            raise ValueError(f"{name}: give either scales or both octave_base_scale and scales_per_octave, "
                             f"got scales={scales!r}, octave_base_scale={octave_base_scale!r}, "
                             f"scales_per_octave={scales_per_octave!r}")
        if scales is not None:
            self.scales = torch.Tensor(scales)
        else:
            self.scales = torch.Tensor([2 ** (i / scales_per_octave) * octave_base_scale
                                        for i in range(scales_per_octave)])

        self.octave_base_scale = octave_base_scale
        self.scales_per_octave = scales_per_octave
        self.ratios = torch.Tensor(ratios)
        self.scale_major = scale_major
        self.centers = centers
        self.center_offset = center_offset
        self.use_box_type = use_box_type
        self.base_anchors = self.gen_base_anchors()

    @property
    def num_base_anchors(self) -> List[int]:
        """Anchors per cell, per level (older name of :attr:`num_base_priors`)."""
        return self.num_base_priors

    @property
    def num_base_priors(self) -> List[int]:
        """Anchors per cell, per level."""
        return [anchors.size(0) for anchors in self.base_anchors]

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    def gen_base_anchors(self) -> List[Tensor]:
        """The anchors of one cell at the origin, per level."""
        return [self.gen_single_level_base_anchors(base_size, scales=self.scales, ratios=self.ratios,
                                                   center=None if self.centers is None else self.centers[i])
                for i, base_size in enumerate(self.base_sizes)]

    def gen_single_level_base_anchors(self, base_size: Union[int, float], scales: Tensor, ratios: Tensor,
                                      center: Optional[Tuple[float, float]] = None) -> Tensor:
        """``(len(ratios) * len(scales), 4)`` anchors of one cell."""
        w = h = base_size
        if center is None:
            x_center, y_center = self.center_offset * w, self.center_offset * h
        else:
            x_center, y_center = center
        h_ratios = torch.sqrt(ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (w * w_ratios[:, None] * scales[None, :]).view(-1)
            hs = (h * h_ratios[:, None] * scales[None, :]).view(-1)
        else:
            ws = (w * scales[:, None] * w_ratios[None, :]).view(-1)
            hs = (h * scales[:, None] * h_ratios[None, :]).view(-1)
        return torch.stack([x_center - 0.5 * ws, y_center - 0.5 * hs, x_center + 0.5 * ws, y_center + 0.5 * hs],
                           dim=-1)

    def grid_priors(self, featmap_sizes: Sequence[Tuple[int, int]], dtype: torch.dtype = torch.float32,
                    device="cuda") -> List[Tensor]:
        """Anchors of every level, each ``(h * w * num_base_priors, 4)``."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{type(self).__name__}.grid_priors: featmap_sizes needs one (h, w) per level "
                             f"({self.num_levels}), got {len(featmap_sizes)}")
        return [self.single_level_grid_priors(featmap_sizes[i], level_idx=i, dtype=dtype, device=device)
                for i in range(self.num_levels)]

    def single_level_grid_priors(self, featmap_size: Tuple[int, int], level_idx: int,
                                 dtype: torch.dtype = torch.float32, device="cuda") -> Tensor:
        """Anchors of one level: the cell anchors of (0, 0), then (0, 1), ... row by row."""
        base_anchors = self.base_anchors[level_idx].to(device).to(dtype)
        feat_h, feat_w = featmap_size
        stride_w, stride_h = self.strides[level_idx]
        shift_x = torch.arange(0, feat_w, device=device).to(dtype) * stride_w
        shift_y = torch.arange(0, feat_h, device=device).to(dtype) * stride_h
        shift_xx, shift_yy = _meshgrid(shift_x, shift_y)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        return (base_anchors[None, :, :] + shifts[:, None, :]).view(-1, 4)

    def sparse_priors(self, prior_idxs: Tensor, featmap_size: Tuple[int, int], level_idx: int,
                      dtype: torch.dtype = torch.float32, device="cuda") -> Tensor:
        """The anchors at flat indices ``prior_idxs`` of :meth:`single_level_grid_priors`."""
        height, width = featmap_size
        num_base = self.num_base_priors[level_idx]
        base_anchor_id = prior_idxs % num_base
        x = (prior_idxs // num_base) % width * self.strides[level_idx][0]
        y = (prior_idxs // width // num_base) % height * self.strides[level_idx][1]
        priors = torch.stack([x, y, x, y], 1).to(dtype).to(device)
        # the base anchors live on the CPU; index them where the indices are
        return priors + self.base_anchors[level_idx].to(device)[base_anchor_id.to(device), :]

    def valid_flags(self, featmap_sizes: Sequence[Tuple[int, int]], pad_shape: Sequence[int],
                    device="cuda") -> List[Tensor]:
        """Per level, which anchors sit on cells inside the (unpadded) image ``pad_shape[:2]``."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{type(self).__name__}.valid_flags: featmap_sizes needs one (h, w) per level "
                             f"({self.num_levels}), got {len(featmap_sizes)}")
        h, w = pad_shape[:2]
        flags = []
        for i in range(self.num_levels):
            stride_w, stride_h = self.strides[i]
            feat_h, feat_w = featmap_sizes[i]
            valid_h = min(int(math.ceil(h / stride_h)), feat_h)
            valid_w = min(int(math.ceil(w / stride_w)), feat_w)
            flags.append(self.single_level_valid_flags((feat_h, feat_w), (valid_h, valid_w),
                                                       self.num_base_priors[i], device=device))
        return flags

    def single_level_valid_flags(self, featmap_size: Tuple[int, int], valid_size: Tuple[int, int],
                                 num_base_anchors: int, device="cuda") -> Tensor:
        """``(h * w * num_base_anchors,)`` bools: True for cells in the top-left ``valid_size``."""
        feat_h, feat_w = featmap_size
        valid_h, valid_w = valid_size
        if valid_h > feat_h or valid_w > feat_w:
            raise ValueError(f"{type(self).__name__}: valid_size {valid_size} exceeds featmap_size {featmap_size}")
        valid_x = torch.zeros(feat_w, dtype=torch.bool, device=device)
        valid_y = torch.zeros(feat_h, dtype=torch.bool, device=device)
        valid_x[:valid_w] = True
        valid_y[:valid_h] = True
        valid_xx, valid_yy = _meshgrid(valid_x, valid_y)
        valid = valid_xx & valid_yy
        return valid[:, None].expand(valid.size(0), num_base_anchors).contiguous().view(-1)

    def __repr__(self) -> str:
        fields = dict(strides=self.strides, ratios=self.ratios, scales=self.scales, base_sizes=self.base_sizes,
                      scale_major=self.scale_major, octave_base_scale=self.octave_base_scale,
                      scales_per_octave=self.scales_per_octave, num_levels=self.num_levels, centers=self.centers,
                      center_offset=self.center_offset)
        body = ",\n".join(f"    {k}={v}" for k, v in fields.items())
        return f"{type(self).__name__}(\n{body})"


@TASK_UTILS.register_module()
class YOLOAnchorGenerator(AnchorGenerator):
    """YOLO's anchors: explicit ``(w, h)`` sizes per level, centered in each cell.

    Args:
        strides: per level, an int or a ``(w, h)`` pair.
        base_sizes: per level, a list of ``(w, h)`` anchor sizes (the same
            number on every level).
        use_box_type: only False (plain tensors) is supported.
    """

    def __init__(self, strides: Sequence, base_sizes: Sequence[Sequence], use_box_type: bool = False) -> None:
        name = type(self).__name__
        if use_box_type:
            raise ValueError(f"{name}: use_box_type=True (box-list output) is not supported; anchors are tensors")
        if len(base_sizes) != len(strides):
            raise ValueError(f"{name}: base_sizes needs one list of (w, h) per stride ({len(strides)}), "
                             f"got {len(base_sizes)}")
        if len({len(sizes) for sizes in base_sizes}) > 1:
            raise ValueError(f"{name}: every level needs the same number of base sizes, got "
                             f"{[len(sizes) for sizes in base_sizes]}")
        self.strides = [_pair(stride) for stride in strides]
        self.centers = [(stride[0] / 2., stride[1] / 2.) for stride in self.strides]
        self.base_sizes = [[_pair(size) for size in sizes] for sizes in base_sizes]
        self.use_box_type = use_box_type
        self.center_offset = 0.
        self.base_anchors = self.gen_base_anchors()

    @property
    def num_levels(self) -> int:
        return len(self.base_sizes)

    def gen_base_anchors(self) -> List[Tensor]:
        """The anchors of one cell at the origin, per level."""
        return [self.gen_single_level_base_anchors(sizes, self.centers[i]) for i, sizes in enumerate(self.base_sizes)]

    def gen_single_level_base_anchors(self, base_sizes_per_level: Sequence[Tuple[float, float]],
                                      center: Optional[Tuple[float, float]] = None) -> Tensor:
        """``(len(base_sizes_per_level), 4)`` anchors around ``center``."""
        x_center, y_center = center
        return torch.stack([torch.Tensor([x_center - 0.5 * w, y_center - 0.5 * h, x_center + 0.5 * w,
                                          y_center + 0.5 * h]) for w, h in base_sizes_per_level], dim=0)

    def responsible_flags(self, featmap_sizes: Sequence[Tuple[int, int]], gt_bboxes: Tensor,
                          device="cuda") -> List[Tensor]:
        """Per level, ``(h * w * num_base_anchors,)`` uint8: 1 for the anchors of the cells that
        contain a ground-truth center (the cells responsible for predicting it)."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{type(self).__name__}.responsible_flags: featmap_sizes needs one (h, w) per level "
                             f"({self.num_levels}), got {len(featmap_sizes)}")
        return [self.single_level_responsible_flags(featmap_sizes[i], gt_bboxes, self.strides[i],
                                                    self.num_base_priors[i], device=device)
                for i in range(self.num_levels)]

    def single_level_responsible_flags(self, featmap_size: Tuple[int, int], gt_bboxes: Tensor,
                                       stride: Tuple[int, int], num_base_anchors: int, device="cuda") -> Tensor:
        """The flags of one level (see :meth:`responsible_flags`)."""
        feat_h, feat_w = featmap_size
        gt_cx = ((gt_bboxes[:, 0] + gt_bboxes[:, 2]) * 0.5).to(device)
        gt_cy = ((gt_bboxes[:, 1] + gt_bboxes[:, 3]) * 0.5).to(device)
        gt_col = torch.floor(gt_cx / stride[0]).long()
        gt_row = torch.floor(gt_cy / stride[1]).long()
        cell_idx = gt_row * feat_w + gt_col
        responsible = torch.zeros(feat_h * feat_w, dtype=torch.uint8, device=device)
        responsible[cell_idx] = 1
        return responsible[:, None].expand(responsible.size(0), num_base_anchors).contiguous().view(-1)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(strides={self.strides}, base_sizes={self.base_sizes}, "
                f"num_levels={self.num_levels})")


def anchor_inside_flags(flat_anchors: Tensor, valid_flags: Tensor, img_shape: Sequence[int],
                        allowed_border: int = 0) -> Tensor:
    """``valid_flags`` restricted to anchors inside the image grown by ``allowed_border`` pixels.

    A negative ``allowed_border`` keeps every valid anchor, however far it
    reaches outside the image.
    """
    img_h, img_w = img_shape[:2]
    if allowed_border < 0:
        return valid_flags
    return (valid_flags & (flat_anchors[:, 0] >= -allowed_border) & (flat_anchors[:, 1] >= -allowed_border)
            & (flat_anchors[:, 2] < img_w + allowed_border) & (flat_anchors[:, 3] < img_h + allowed_border))
