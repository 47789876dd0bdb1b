"""Strategies (single device, DDP, FSDP) and the model features they apply (compile, activation
checkpointing, channels_last). See docs/distributed.md."""

from .base import STRATEGIES, BaseStrategy, DDPStrategy, SingleDeviceStrategy, build_strategy
from .features import compile_model, select_modules, to_channels_last, turn_on_activation_checkpointing
from .fsdp import FSDPStrategy, ShardedOptimizerState, size_based_units
from loomcv.checkpoint import is_sharded_checkpoint

from .sharded import load_sharded, save_sharded

__all__ = ["STRATEGIES", "BaseStrategy", "SingleDeviceStrategy", "DDPStrategy", "FSDPStrategy", "build_strategy",
           "ShardedOptimizerState", "size_based_units", "compile_model", "select_modules", "to_channels_last",
           "turn_on_activation_checkpointing", "is_sharded_checkpoint", "load_sharded", "save_sharded"]
