"""Build a torch DataLoader from a config, with reproducible per-worker seeds."""

import copy
import random
from functools import partial
from typing import Any, Callable, Mapping, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader

from loomcv.dist import get_dist_info
from loomcv.errors import BuildArgumentError, ConfigError, did_you_mean
from loomcv.registry import DATA_SAMPLERS, DATASETS, FUNCTIONS, build_or_accept


@FUNCTIONS.register_module()
def default_worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int) -> None:
    """Seed python, numpy and torch in a worker: distinct per worker and rank, fixed by ``seed``.

    The DataLoader's own per-iterator base seed (drawn from its seeded generator)
    is mixed in, so each epoch's workers draw differently yet reproducibly.
    """
    info = torch.utils.data.get_worker_info()
    epoch_offset = (info.seed - info.id) if info is not None else 0
    worker_seed = (num_workers * rank + worker_id + seed + epoch_offset) % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)
    torch.manual_seed(worker_seed)


@FUNCTIONS.register_module()
def worker_init_fn(worker_id: int, num_workers: int, rank: int, seed: int,
                   disable_subprocess_warning: bool = False) -> None:
    """MMEngine's name and signature for :func:`default_worker_init_fn`; ``disable_subprocess_warning``
    silences Python warnings in every worker but the first."""
    default_worker_init_fn(worker_id, num_workers, rank, seed)
    if disable_subprocess_warning and worker_id != 0:
        import warnings
        warnings.simplefilter("ignore")


#: MMEngine's older name for the registry that holds collate functions (FUNCTIONS)
COLLATE_FUNCTIONS = FUNCTIONS


def _function(cfg: Any, key: str) -> Optional[Callable]:
    """A callable from ``dict(type='name')``, a name, or a callable."""
    if cfg is None or callable(cfg):
        return cfg
    if isinstance(cfg, str):
        cfg = dict(type=cfg)
    if not isinstance(cfg, Mapping) or "type" not in cfg:
        raise ConfigError(f"dataloader.{key} must be a callable or dict(type=...), got {cfg!r}")
    cfg = dict(cfg)
    name = cfg.pop("type")
    fn = FUNCTIONS.get(name) if isinstance(name, str) else name
    if fn is None:
        known = list(FUNCTIONS.module_dict)
        raise ConfigError(f"dataloader.{key}: {name!r} is not registered in FUNCTIONS; "
                          f"known: {', '.join(known)}.{did_you_mean(name, known)}")
    return partial(fn, **cfg) if cfg else fn


def _batch_size(cfg: Mapping) -> int:
    """Samples per batch: ``batch_size``, or the batch sampler's."""
    batch_sampler = cfg.get("batch_sampler")
    if isinstance(batch_sampler, Mapping) and "batch_size" in batch_sampler:
        return int(batch_sampler["batch_size"])
    return int(getattr(batch_sampler, "batch_size", None) or cfg.get("batch_size", 1))


_DATALOADER_KEYS = ("shuffle", "drop_last", "timeout", "prefetch_factor", "multiprocessing_context",
                    "in_order", "pin_memory_device")


def build_dataloader(dataloader: Any, seed: Optional[int] = None, diff_rank_seed: bool = False) -> DataLoader:
    """A DataLoader from ``dict(dataset=..., sampler=..., batch_size=..., num_workers=..., ...)``.

    ``dataset``, ``sampler`` and ``batch_sampler`` may be configs or objects;
    ``collate_fn`` defaults to ``pseudo_collate``. With a ``seed``, workers are
    seeded by :func:`default_worker_init_fn` and the loader's generator is
    seeded too, so two runs with the same seed give the same batches.
    ``diff_rank_seed`` (``seed`` already differs per rank) gives the sampler a random seed shared
    by all ranks instead of ``seed``. ``num_batch_per_epoch``
    keeps only the first ``N x batch_size x world_size`` samples (quick checks).
    """
    if isinstance(dataloader, DataLoader):
        return dataloader
    if not isinstance(dataloader, Mapping):
        raise ConfigError(f"a dataloader config must be a dict, got {type(dataloader).__name__}")
    cfg = copy.copy(dict(dataloader))
    if "dataset" not in cfg:
        raise ConfigError("the dataloader config needs a `dataset`")
    dataset = cfg.pop("dataset")
    dataset = build_or_accept(dataset, DATASETS, name="dataset", owner="build_dataloader")
    getattr(dataset, "full_init", lambda: None)()
    rank, world_size = get_dist_info()
    num_batch_per_epoch = cfg.pop("num_batch_per_epoch", None)
    if num_batch_per_epoch is not None:  # MMEngine's quick-check switch: only the first N batches' samples
        if isinstance(num_batch_per_epoch, bool) or not isinstance(num_batch_per_epoch, int) \
                or num_batch_per_epoch < 1:
            raise ConfigError(f"dataloader.num_batch_per_epoch must be a positive int, got {num_batch_per_epoch!r}")
        from .wrappers import SlicedDataset
        dataset = SlicedDataset(dataset, num_batch_per_epoch * _batch_size(cfg) * world_size)
    # with diff_rank_seed the ranks' seeds differ, but a sampler's must not (each rank takes its share
    # of one shuffled order): it gets None, i.e. one random seed shared by all ranks (MMEngine's rule)
    sampler_seed = None if diff_rank_seed else seed

    sampler_cfg = cfg.pop("sampler", dict(type="DefaultSampler", shuffle=False))
    sampler = build_or_accept(sampler_cfg, DATA_SAMPLERS, name="sampler", owner="build_dataloader",
                              default_args=dict(dataset=dataset, seed=sampler_seed), allow_none=True)
    batch_size = cfg.pop("batch_size", 1)
    batch_sampler_cfg = cfg.pop("batch_sampler", None)
    batch_sampler = build_or_accept(batch_sampler_cfg, DATA_SAMPLERS, name="batch_sampler", owner="build_dataloader",
                                    default_args=dict(sampler=sampler, batch_size=batch_size), allow_none=True)

    num_workers = cfg.pop("num_workers", 0)
    init_fn = _function(cfg.pop("worker_init_fn", dict(type="default_worker_init_fn")), "worker_init_fn")
    generator = None
    if seed is not None and init_fn is not None:
        init_fn = partial(init_fn, num_workers=num_workers, rank=rank, seed=seed)
        generator = torch.Generator().manual_seed(seed + rank)
    elif seed is None:
        init_fn = None if init_fn is default_worker_init_fn else init_fn
    collate_fn = _function(cfg.pop("collate_fn", dict(type="pseudo_collate")), "collate_fn")

    unknown = [k for k in cfg if k not in ("persistent_workers", "pin_memory") + _DATALOADER_KEYS]
    if unknown:
        valid = ["dataset", "sampler", "batch_sampler", "batch_size", "num_workers", "collate_fn",
                 "num_batch_per_epoch", "worker_init_fn", "persistent_workers", "pin_memory", *_DATALOADER_KEYS]
        raise BuildArgumentError(f"DataLoader got an unexpected argument {unknown[0]!r}."
                                 f"{did_you_mean(unknown[0], valid, 1)}\n  accepted: {', '.join(valid)}")
    if num_workers == 0:
        cfg.pop("persistent_workers", None)  # torch refuses persistent workers without workers
    if batch_sampler is not None:  # torch wants batch_size/sampler left at their defaults then
        batch_size, sampler = 1, None
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, batch_sampler=batch_sampler,
                      num_workers=num_workers, collate_fn=collate_fn, worker_init_fn=init_fn,
                      generator=generator, **cfg)
