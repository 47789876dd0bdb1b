"""Samplers: which indices this rank reads, seeded and resumable mid-epoch; and batch samplers.

Both split indices across ranks (``indices[rank::world_size]``). A seed of None
is replaced by one random seed shared by all ranks. ``set_position(n)`` makes
the next pass start after the first ``n`` samples this rank would have read,
which is how a resumed run continues exactly where it stopped.
"""

import itertools
import math
from typing import Iterator, Optional, Sized

import torch
from torch.utils.data import BatchSampler, Sampler

from loomcv.dist import get_dist_info, sync_random_seed
from loomcv.errors import ConfigError
from loomcv.registry import DATA_SAMPLERS


def _check_position(owner: str, position: int) -> int:
    if not isinstance(position, int) or position < 0:
        raise ConfigError(f"{owner}.set_position: position must be an int >= 0, got {position!r}")
    return position


@DATA_SAMPLERS.register_module()
class DefaultSampler(Sampler):
    """Each epoch: all indices (shuffled with ``seed + epoch``), split across ranks.

    ``round_up`` repeats the first indices so every rank gets the same number.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None, round_up: bool = True):
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.epoch = 0
        self._position = 0
        n = len(dataset)
        if round_up:
            self.num_samples = math.ceil(n / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((n - self.rank) / self.world_size)
            self.total_size = n

    def _indices(self) -> list:
        n = len(self.dataset)
        if self.shuffle:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            indices = torch.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if self.round_up and n:
            indices = (indices * int(self.total_size / n + 1))[:self.total_size]
        return indices[self.rank:self.total_size:self.world_size]

    def __iter__(self) -> Iterator[int]:
        start, self._position = self._position, 0
        return iter(self._indices()[start:])

    def __len__(self) -> int:
        return max(self.num_samples - self._position, 0)

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle differently (and reproducibly) for each epoch."""
        self.epoch = epoch

    def set_position(self, position: int) -> None:
        """Start the next pass after this rank's first ``position`` samples of the current epoch."""
        self._position = _check_position("DefaultSampler", position)

    def state_dict(self) -> dict:
        return dict(seed=self.seed, epoch=self.epoch)

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


@DATA_SAMPLERS.register_module()
class InfiniteSampler(Sampler):
    """An endless stream of indices (new permutation after each pass), for iteration-based training."""

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None):
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0
        self._position = 0
        self.size = len(dataset)

    def _infinite_indices(self) -> Iterator[int]:
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        while True:
            if self.shuffle:
                yield from torch.randperm(self.size, generator=g).tolist()
            else:
                yield from range(self.size)

    def __iter__(self) -> Iterator[int]:
        start, self._position = self._position, 0
        stream = itertools.islice(self._infinite_indices(), self.rank, None, self.world_size)
        return itertools.islice(stream, start, None)

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        """Kept for interface parity: a different epoch gives a different stream."""
        self.epoch = epoch

    def set_position(self, position: int) -> None:
        """Skip this rank's first ``position`` indices of the stream on the next iteration."""
        self._position = _check_position("InfiniteSampler", position)

    def state_dict(self) -> dict:
        return dict(seed=self.seed, epoch=self.epoch)

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


def _aspect_group(info: dict, index: int) -> int:
    """0 for a portrait image (w < h), 1 otherwise, from the data info's width/height."""
    if "width" in info and "height" in info:
        width, height = info["width"], info["height"]
    elif info.get("img_shape") is not None or info.get("ori_shape") is not None:
        height, width = (info.get("img_shape") or info.get("ori_shape"))[:2]
    else:
        raise KeyError(f"AspectRatioBatchSampler: data info {index} has no 'width'/'height' (nor 'img_shape'); "
                       f"keys: {sorted(info)}")
    return 0 if width < height else 1


@DATA_SAMPLERS.register_module()
class AspectRatioBatchSampler(BatchSampler):
    """Batches whose images are all landscape (w >= h) or all portrait (MMDetection's).

    Indices come from ``sampler`` in its order and wait in one of two buckets
    until a bucket holds ``batch_size``; padding a batch to its largest image
    then wastes far less. What is left at the end of a pass is batched mixed
    (the last partial batch is dropped with ``drop_last``). The dataset (the
    sampler's ``dataset``) must give ``width`` and ``height`` in ``get_data_info``.
    Use it as ``train_dataloader.batch_sampler=dict(type='AspectRatioBatchSampler')``.
    """

    def __init__(self, sampler: Sampler, batch_size: int, drop_last: bool = False):
        if not isinstance(sampler, Sampler):
            raise TypeError(f"AspectRatioBatchSampler: sampler must be a torch Sampler, got {type(sampler).__name__}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ConfigError(f"AspectRatioBatchSampler: batch_size must be a positive int, got {batch_size!r}")
        dataset = getattr(sampler, "dataset", None)
        if dataset is None or not hasattr(dataset, "get_data_info"):
            raise ConfigError("AspectRatioBatchSampler: its sampler must have a `dataset` with get_data_info() "
                              "(such as DefaultSampler over a BaseDataset)")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list]:
        buckets: list = [[], []]
        dataset = self.sampler.dataset
        for index in self.sampler:
            bucket = buckets[_aspect_group(dataset.get_data_info(index), index)]
            bucket.append(index)
            if len(bucket) == self.batch_size:
                yield bucket[:]
                del bucket[:]
        left = buckets[0] + buckets[1]
        for start in range(0, len(left), self.batch_size):
            batch = left[start:start + self.batch_size]
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size
