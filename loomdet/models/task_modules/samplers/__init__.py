"""Samplers: choose which assigned priors a loss sees."""

from .base_sampler import BaseSampler
from .pseudo_sampler import PseudoSampler
from .random_sampler import RandomSampler
from .sampling_result import SamplingResult

__all__ = ["BaseSampler", "PseudoSampler", "RandomSampler", "SamplingResult"]
