"""The Runner, its loops, the log processor, preemption, and MMEngine's checkpoint path."""

from .checkpoint import find_latest_checkpoint, get_state_dict, save_checkpoint, weights_to_cpu
from .log_processor import LogProcessor
from .loops import BaseLoop, EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop, ValLoop
from .randomness import get_rng_state, set_random_seed, set_rng_state
from .preemption import TrainingInterrupted
from .runner import Runner

__all__ = ["Runner", "TrainingInterrupted", "BaseLoop", "EpochBasedTrainLoop", "IterBasedTrainLoop", "ValLoop",
           "TestLoop", "LogProcessor", "save_checkpoint", "find_latest_checkpoint", "get_state_dict",
           "weights_to_cpu", "set_random_seed", "get_rng_state", "set_rng_state"]
