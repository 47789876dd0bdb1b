"""Hooks: code the Runner calls at fixed points of a run (see docs/runner_and_hooks.md)."""

from loomcv.legacy.moved import moved_names

from .checkpoint_hook import CheckpointHook
from .early_stopping_hook import EarlyStoppingHook
from .ema_hook import EMAHook
from .empty_cache_hook import EmptyCacheHook
from .hook import STAGES, Hook
from .iter_timer_hook import IterTimerHook
from .logger_hook import LoggerHook
from .naive_visualization_hook import NaiveVisualizationHook
from .param_scheduler_hook import ParamSchedulerHook
from .prepare_tta_hook import PrepareTTAHook
from .priority import Priority, get_priority
from .profiler_hook import ProfilerHook
from .runtime_info_hook import RuntimeInfoHook
from .sampler_seed_hook import DistSamplerSeedHook
from .sync_buffers_hook import SyncBuffersHook

__all__ = ["Hook", "STAGES", "Priority", "get_priority", "RuntimeInfoHook", "IterTimerHook", "LoggerHook",
           "ParamSchedulerHook", "CheckpointHook", "DistSamplerSeedHook", "EMAHook", "EmptyCacheHook",
           "SyncBuffersHook", "ProfilerHook", "EarlyStoppingHook", "NaiveVisualizationHook", "PrepareTTAHook"]

# ValLossHook (MMCV 1.x's ('val', n) workflow phases) moved to loomcv.legacy.hooks
__getattr__ = moved_names(__name__, {"ValLossHook": "loomcv.legacy.hooks"})
