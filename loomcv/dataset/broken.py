"""Broken samples: a pipeline that raises on one corrupt file should not end a long run.

With ``skip_broken=True`` a dataset (:class:`~loomcv.dataset.BaseDataset`)
records the failing sample here, logs its file and the reason the first time,
and fetches another sample instead (MMEngine's ``max_refetch`` rule for a
pipeline that drops a sample). When more than ``max_broken_ratio`` of the
dataset has turned out broken the run stops, since the data, not one file, is
then the problem.

The record lives in shared memory, so DataLoader worker processes (forked or
spawned) count into one tally that the main process reads.
"""

import logging
from typing import Any, Optional


def sample_source(info: Any, idx: int) -> str:
    """What names a sample to a person: its file if it has one, else its index."""
    if isinstance(info, dict):
        for key in ("img_path", "filename", "video_path", "ann_path"):
            if info.get(key):
                return str(info[key])
    return f"sample {idx}"


class BrokenSamples:
    """Which samples of a dataset failed, shared between processes.

    Args:
        owner: the dataset class name, for messages.
        size: number of samples.
        max_ratio: stop (raise) once more than this fraction of the samples is broken.
    """

    def __init__(self, owner: str, size: int, max_ratio: float):
        import torch
        if not 0 <= max_ratio < 1:
            raise ValueError(f"{owner}: max_broken_ratio must lie in [0, 1), got {max_ratio!r}")
        self.owner, self.size, self.max_ratio = owner, int(size), float(max_ratio)
        self._flags = torch.zeros(max(self.size, 1), dtype=torch.uint8).share_memory_()
        self._skips = torch.zeros(1, dtype=torch.int64).share_memory_()

    @property
    def count(self) -> int:
        """Distinct broken samples seen so far (by any process)."""
        return int(self._flags.sum())

    @property
    def skips(self) -> int:
        """Times a broken sample was replaced (a sample broken in every epoch counts each time)."""
        return int(self._skips.item())

    def indices(self):
        return self._flags.nonzero().flatten().tolist()

    def summary(self) -> str:
        return (f"{self.owner}: {self.count} broken sample(s) of {self.size} "
                f"({self.count / max(self.size, 1):.2%}) skipped {self.skips} time(s)")

    def record(self, idx: int, source: str, error: BaseException) -> None:
        """Count sample ``idx`` as broken: log it the first time, raise past the ratio."""
        from loomcv.logging import print_log
        self._skips += 1
        first = int(self._flags[idx]) == 0
        self._flags[idx] = 1
        count = self.count
        ratio = count / max(self.size, 1)
        if first:
            print_log(f"{self.owner}: skipped broken sample {idx} ({source}): {type(error).__name__}: {error} "
                      f"[{count} broken sample(s) so far, {ratio:.2%} of {self.size}; the run stops past "
                      f"max_broken_ratio={self.max_ratio:.2%}]", logger="current", level=logging.WARNING)
        if ratio > self.max_ratio:
            raise RuntimeError(f"{self.owner}: {count} of {self.size} samples ({ratio:.2%}) are broken, more than "
                               f"max_broken_ratio={self.max_ratio:.2%}; the last one is {source}: "
                               f"{type(error).__name__}: {error}. Check the data (loomcv verify-dataset CONFIG "
                               f"lists every broken sample) or raise max_broken_ratio") from error


def explain(error: BaseException, owner: str, idx: int, source: str) -> BaseException:
    """``error`` with a note naming the sample whose pipeline raised it."""
    if hasattr(error, "add_note"):
        error.add_note(f"while loading sample {idx} ({source}) of {owner}; skip_broken=True skips such samples")
    return error


def find_broken_samples(dataset: Any) -> Optional[BrokenSamples]:
    """The :class:`BrokenSamples` of ``dataset`` or of the dataset(s) it wraps, if any records one."""
    seen = 0
    while dataset is not None and seen < 10:
        broken = getattr(dataset, "broken_samples", None)
        if isinstance(broken, BrokenSamples):
            return broken
        inner = getattr(dataset, "dataset", None)
        if inner is None and getattr(dataset, "datasets", None):
            inner = dataset.datasets[0]
        dataset, seen = inner, seen + 1
    return None
