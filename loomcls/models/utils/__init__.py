"""Helpers that several model families share (arch tables of the transformer backbones)."""

from .arch import check_frozen_stages, drop_path_rates, normalize_out_indices, select_arch

__all__ = ["select_arch", "normalize_out_indices", "check_frozen_stages", "drop_path_rates"]
from .norm import GRN, LayerNorm2d, build_norm_layer  # noqa: E402

__all__ += ["GRN", "LayerNorm2d", "build_norm_layer"]
