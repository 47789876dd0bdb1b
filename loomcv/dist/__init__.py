"""Distributed helpers: launch, rank/world queries, collectives, result collection.

Every function is the identity (or a no-op) when the job runs as one process.
"""

from .collect import collect_results, collect_results_cpu, collect_results_gpu
from .collectives import (all_gather, all_gather_object, all_reduce, all_reduce_dict, all_reduce_params,
                          backend_device, barrier, broadcast, broadcast_object_list, gather, gather_object,
                          sync_random_seed)
from .devices import cast_data_device, get_comm_device, get_data_device
from .info import (get_backend, get_default_group, get_dist_info, get_local_rank, get_local_size, get_rank,
                   get_world_size, infer_launcher, is_distributed, is_main_process, master_only)
from .launch import init_dist
from .local_group import get_local_group, init_local_group
from .watchdog import Watchdog, pet

__all__ = [
    "collect_results", "all_gather", "all_gather_object", "all_reduce", "backend_device", "barrier",
    "broadcast", "broadcast_object_list", "sync_random_seed", "get_backend", "get_dist_info",
    "get_local_rank", "get_rank", "get_world_size", "is_distributed", "is_main_process", "master_only",
    "init_dist", "Watchdog", "pet", "collect_results_cpu", "collect_results_gpu", "all_reduce_dict",
    "all_reduce_params", "gather", "gather_object", "get_data_device", "get_comm_device", "cast_data_device",
    "get_local_size", "get_default_group", "infer_launcher", "init_local_group", "get_local_group",
]
