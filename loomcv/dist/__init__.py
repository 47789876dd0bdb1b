"""Distributed helpers: launch, rank/world queries, collectives, result collection.

Every function is the identity (or a no-op) when the job runs as one process.
"""

from .collect import collect_results
from .collectives import (all_gather, all_gather_object, all_reduce, backend_device, barrier, broadcast,
                          broadcast_object_list, sync_random_seed)
from .info import (get_backend, get_dist_info, get_local_rank, get_rank, get_world_size, is_distributed,
                   is_main_process, master_only)
from .launch import init_dist
from .watchdog import Watchdog, pet

__all__ = [
    "collect_results", "all_gather", "all_gather_object", "all_reduce", "backend_device", "barrier",
    "broadcast", "broadcast_object_list", "sync_random_seed", "get_backend", "get_dist_info",
    "get_local_rank", "get_rank", "get_world_size", "is_distributed", "is_main_process", "master_only",
    "init_dist", "Watchdog", "pet",
]
