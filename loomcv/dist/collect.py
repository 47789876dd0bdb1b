"""Gather per-rank evaluation results back into dataset order."""

from typing import Any, List, Optional

import torch.distributed as torch_dist

from .collectives import all_gather_object
from .info import get_backend, get_rank, get_world_size
from .watchdog import watched

_MISSING = object()
_GLOO_GROUP = None


def _cpu_group():
    """A gloo group so that 'cpu' collection never sends pickles through CUDA."""
    global _GLOO_GROUP
    if get_backend() == "gloo":
        return None
    if _GLOO_GROUP is None:
        _GLOO_GROUP = torch_dist.new_group(backend="gloo")
    return _GLOO_GROUP


@watched
def collect_results(results: List[Any], size: int, device: str = "cpu") -> Optional[List[Any]]:
    """Merge every rank's ``results`` into one list of ``size`` items, on rank 0.

    Distributed samplers hand rank ``r`` the indices ``r, r + W, r + 2W, ...``,
    so the merged list interleaves the ranks' parts; the tail that the sampler
    padded to make ranks equal is cut off by ``size``. Other ranks get None.
    ``device`` is 'cpu' (objects travel over gloo) or 'gpu' (over the default
    backend, NCCL on GPUs).
    """
    if device not in ("cpu", "gpu"):
        raise ValueError(f"collect_results: device must be 'cpu' or 'gpu', got {device!r}")
    if not isinstance(results, list):
        raise TypeError(f"collect_results: results must be a list, got {type(results).__name__}")
    if get_world_size() == 1:
        return results[:size]
    parts = all_gather_object(results, _cpu_group() if device == "cpu" else None)
    if get_rank() != 0:
        return None
    ordered = []
    longest = max(len(p) for p in parts)
    for i in range(longest):
        for part in parts:
            if i < len(part):
                ordered.append(part[i])
    return ordered[:size]


def collect_results_cpu(result_part: List[Any], size: int, tmpdir: Optional[str] = None) -> Optional[List[Any]]:
    """:func:`collect_results` over the CPU (gloo); ``tmpdir`` is accepted for MMEngine's
    signature (results travel as pickles over the process group, not through files)."""
    return collect_results(result_part, size, "cpu")


def collect_results_gpu(result_part: List[Any], size: int) -> Optional[List[Any]]:
    """:func:`collect_results` over the default backend (NCCL on GPUs)."""
    return collect_results(result_part, size, "gpu")
