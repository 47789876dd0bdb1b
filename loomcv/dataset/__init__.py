"""Datasets, dataset wrappers, samplers, collate functions and DataLoader building.

See docs/data.md.
"""

from loomcv.transforms import Compose

from .base_dataset import BaseDataset, force_full_init
from .collate import default_collate, pseudo_collate
from .dataloader import COLLATE_FUNCTIONS, build_dataloader, default_worker_init_fn, worker_init_fn
from .sampler import AspectRatioBatchSampler, DefaultSampler, InfiniteSampler
from .wrappers import ClassBalancedDataset, ConcatDataset, RepeatDataset, SlicedDataset

__all__ = [
    "BaseDataset", "ConcatDataset", "RepeatDataset", "SlicedDataset", "ClassBalancedDataset", "DefaultSampler",
    "InfiniteSampler", "AspectRatioBatchSampler", "pseudo_collate", "default_collate", "default_worker_init_fn",
    "build_dataloader", "Compose", "force_full_init", "worker_init_fn", "COLLATE_FUNCTIONS",
]
