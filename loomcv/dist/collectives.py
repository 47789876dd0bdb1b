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


def all_reduce_dict(data: dict, op: str = "sum", group: Optional[object] = None) -> None:
    """``all_reduce`` every tensor of ``data`` in place (the same keys on every rank)."""
    if not isinstance(data, dict):
        raise TypeError(f"all_reduce_dict takes a dict of tensors, got {type(data).__name__}")
    for key in sorted(data):  # one order on every rank
        all_reduce(data[key], op, group)


def all_reduce_params(params: Any, coalesce: bool = True, bucket_size_mb: int = -1, op: str = "sum",
                      group: Optional[object] = None) -> None:
    """``all_reduce`` the data of every parameter (or tensor) in ``params`` in place (e.g. to
    average buffers by hand); ``coalesce`` and ``bucket_size_mb`` are accepted for MMEngine's
    signature: each tensor is reduced on its own."""
    for param in params:
        all_reduce(param.data if hasattr(param, "data") else param, op, group)


@watched
def gather(data: torch.Tensor, dst: int = 0, group: Optional[object] = None) -> List[torch.Tensor]:
    """Every rank's ``data``, in rank order, on rank ``dst``; an empty list on the others."""
    if get_world_size(group) == 1:
        return [data]
    work = data.to(backend_device(group))
    out = [torch.empty_like(work) for _ in range(get_world_size(group))] if get_rank(group) == dst else None
    torch_dist.gather(work, out, dst, group)
    return [t.to(data.device) for t in out] if out is not None else []


@watched
def gather_object(data: Any, dst: int = 0, group: Optional[object] = None) -> Optional[List[Any]]:
    """Every rank's picklable ``data``, in rank order, on rank ``dst``; None on the others."""
    if get_world_size(group) == 1:
        return [data]
    out = [None] * get_world_size(group) if get_rank(group) == dst else None
    torch_dist.gather_object(data, out, dst, group)
    return out
