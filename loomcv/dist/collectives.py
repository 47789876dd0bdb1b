"""Collective operations that are the identity when the job is a single process.

Tensors are moved to the device the backend needs (CUDA for NCCL) for the
call and the answer is written back where the caller's tensor lives.
"""

import random
from typing import Any, List, Optional

import torch
import torch.distributed as torch_dist

from .info import get_backend, get_rank, get_world_size, is_distributed
from .watchdog import watched

_REDUCE_OPS = {
    "sum": torch_dist.ReduceOp.SUM,
    "mean": torch_dist.ReduceOp.SUM,   # divided by the world size afterwards
    "product": torch_dist.ReduceOp.PRODUCT,
    "min": torch_dist.ReduceOp.MIN,
    "max": torch_dist.ReduceOp.MAX,
    "band": torch_dist.ReduceOp.BAND,
    "bor": torch_dist.ReduceOp.BOR,
    "bxor": torch_dist.ReduceOp.BXOR,
}


def backend_device(group: Optional[object] = None) -> torch.device:
    """Where tensors must live for the group's backend."""
    if get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


@watched
def barrier(group: Optional[object] = None) -> None:
    if is_distributed():
        torch_dist.barrier(group)


@watched
def all_reduce(data: torch.Tensor, op: str = "sum", group: Optional[object] = None) -> None:
    """Reduce ``data`` in place over all ranks; ``op`` is one of sum, mean, product, min, max, band, bor, bxor."""
    key = op.lower()
    if key not in _REDUCE_OPS:
        raise ValueError(f"all_reduce: unknown op {op!r}; valid ops: {', '.join(_REDUCE_OPS)}")
    if get_world_size(group) == 1:
        return
    work = data.to(backend_device(group))
    torch_dist.all_reduce(work, _REDUCE_OPS[key], group)
    if key == "mean":
        work = work / get_world_size(group)
    data.copy_(work)


@watched
def all_gather(data: torch.Tensor, group: Optional[object] = None) -> List[torch.Tensor]:
    """Every rank's ``data`` (same shape on all ranks), in rank order, on ``data``'s device."""
    if get_world_size(group) == 1:
        return [data]
    work = data.to(backend_device(group))
    out = [torch.empty_like(work) for _ in range(get_world_size(group))]
    torch_dist.all_gather(out, work, group)
    return [t.to(data.device) for t in out]


@watched
def all_gather_object(obj: Any, group: Optional[object] = None) -> List[Any]:
    """Every rank's picklable ``obj``, in rank order."""
    if get_world_size(group) == 1:
        return [obj]
    out = [None] * get_world_size(group)
    torch_dist.all_gather_object(out, obj, group)
    return out


@watched
def broadcast(data: torch.Tensor, src: int = 0, group: Optional[object] = None) -> None:
    """Overwrite ``data`` in place with rank ``src``'s tensor."""
    if get_world_size(group) == 1:
        return
    work = data.to(backend_device(group))
    torch_dist.broadcast(work, src, group)
    data.copy_(work)


@watched
def broadcast_object_list(data: List[Any], src: int = 0, group: Optional[object] = None) -> None:
    """Overwrite the items of ``data`` in place with rank ``src``'s picklable objects."""
    if get_world_size(group) == 1:
        return
    torch_dist.broadcast_object_list(data, src, group)


def sync_random_seed(group: Optional[object] = None) -> int:
    """A random seed drawn on rank 0 and shared by every rank (so samplers shuffle alike)."""
    seed = torch.tensor(random.randint(0, 2**31 - 1) if get_rank(group) == 0 else 0, dtype=torch.int64)
    broadcast(seed, 0, group)
    return int(seed.item())
