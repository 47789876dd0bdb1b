"""The process group of the ranks on this machine (MMEngine's ``init_local_group``/``get_local_group``),
for collectives that should stay inside one node."""

from typing import Optional

import torch.distributed as torch_dist

from .info import get_rank, get_world_size, is_distributed

_LOCAL_GROUP = None


def init_local_group(node_rank: int, num_gpus_per_node: int) -> None:
    """Create one group per node (ranks ``n * num_gpus_per_node ...``); this rank keeps its node's.
    Every rank must call it, with the same ``num_gpus_per_node``."""
    global _LOCAL_GROUP
    if not is_distributed():
        raise RuntimeError("init_local_group needs a started process group (init_dist first)")
    if _LOCAL_GROUP is not None:
        raise RuntimeError("init_local_group: the local process group already exists")
    world = get_world_size()
    if num_gpus_per_node < 1 or world % num_gpus_per_node:
        raise ValueError(f"init_local_group: num_gpus_per_node={num_gpus_per_node} does not divide the "
                         f"world size {world}")
    if get_rank() // num_gpus_per_node != node_rank:
        raise ValueError(f"init_local_group: rank {get_rank()} is not on node {node_rank} with "
                         f"{num_gpus_per_node} processes per node")
    for node in range(world // num_gpus_per_node):  # new_group is collective: every rank makes every group
        group = torch_dist.new_group(list(range(node * num_gpus_per_node, (node + 1) * num_gpus_per_node)))
        if node == node_rank:
            _LOCAL_GROUP = group


def get_local_group() -> Optional[object]:
    """This node's process group; None when not distributed."""
    if not is_distributed():
        return None
    if _LOCAL_GROUP is None:
        raise RuntimeError("the local process group does not exist: call init_local_group first")
    return _LOCAL_GROUP
