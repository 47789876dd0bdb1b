"""Who am I in the job: rank, world size, local rank. Identity answers when not distributed."""

import functools
import os
from typing import Callable, Optional, Tuple

import torch.distributed as torch_dist


def is_distributed() -> bool:
    """True once a default process group exists."""
    return torch_dist.is_available() and torch_dist.is_initialized()


def get_rank(group: Optional[object] = None) -> int:
    return torch_dist.get_rank(group) if is_distributed() else 0


def get_world_size(group: Optional[object] = None) -> int:
    return torch_dist.get_world_size(group) if is_distributed() else 1


def get_local_rank() -> int:
    """The rank on this machine, from the launcher's ``LOCAL_RANK`` (0 when absent)."""
    return int(os.environ.get("LOCAL_RANK", 0)) if is_distributed() else 0


def get_dist_info(group: Optional[object] = None) -> Tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when not distributed."""
    return get_rank(group), get_world_size(group)


def is_main_process(group: Optional[object] = None) -> bool:
    return get_rank(group) == 0


def master_only(func: Callable) -> Callable:
    """Run ``func`` on rank 0 only; other ranks get ``None`` back."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if is_main_process():
            return func(*args, **kwargs)
        return None

    return wrapper


def get_backend(group: Optional[object] = None) -> Optional[str]:
    """The process group's backend name ('gloo', 'nccl', ...), or None when not distributed."""
    return str(torch_dist.get_backend(group)) if is_distributed() else None


def get_local_size() -> int:
    """How many processes of the job run on this machine (``LOCAL_WORLD_SIZE``; 1 when not distributed)."""
    if not is_distributed():
        return 1
    return int(os.environ.get("LOCAL_WORLD_SIZE", get_world_size()))


def get_default_group() -> Optional[object]:
    """The default process group, or None when not distributed."""
    return torch_dist.distributed_c10d._get_default_group() if is_distributed() else None


def infer_launcher() -> str:
    """The launcher that started this process, from its environment: 'pytorch' (torchrun),
    'slurm', 'mpi' or 'none'."""
    if "WORLD_SIZE" in os.environ:
        return "pytorch"
    if "SLURM_NTASKS" in os.environ:
        return "slurm"
    if "OMPI_COMM_WORLD_LOCAL_RANK" in os.environ:
        return "mpi"
    return "none"
