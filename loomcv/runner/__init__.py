"""The Runner, its loops, the log processor, preemption, strategies (DDP, FSDP) and MMEngine's
checkpoint path."""

from loomcv.checkpoint.loader import (CheckpointLoader, get_deprecated_model_names, get_external_models,
                                     get_mmcls_models, get_torchvision_models)
from loomcv.hooks.priority import Priority, get_priority

from .amp import autocast
from .checkpoint import (find_latest_checkpoint, get_state_dict, load_checkpoint, load_state_dict, save_checkpoint,
                         weights_to_cpu)
from .log_processor import LogProcessor
from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
from .randomness import get_rng_state, set_random_seed, set_rng_state
from .preemption import TrainingInterrupted
from .runner import Runner
from .strategies import (STRATEGIES, BaseStrategy, DDPStrategy, FSDPStrategy, SingleDeviceStrategy,
                         turn_on_activation_checkpointing)

FlexibleRunner = Runner  # MMEngine's name for the runner that takes a strategy; one class here

__all__ = ["Runner", "FlexibleRunner", "TrainingInterrupted", "BaseLoop", "EpochBasedTrainLoop",
           "IterBasedTrainLoop", "ValLoop", "TestLoop", "LogProcessor", "save_checkpoint", "find_latest_checkpoint",
           "get_state_dict", "weights_to_cpu", "set_random_seed", "get_rng_state", "set_rng_state", "STRATEGIES",
           "BaseStrategy", "SingleDeviceStrategy", "DDPStrategy", "FSDPStrategy", "turn_on_activation_checkpointing",
           # MMEngine's names in mmengine.runner
           "load_checkpoint", "load_state_dict", "CheckpointLoader", "get_torchvision_models", "get_external_models",
           "get_mmcls_models", "get_deprecated_model_names", "Priority", "get_priority", "autocast"]
