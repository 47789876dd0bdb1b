"""What a Runner does once when it starts: set up the process, log the environment, dump the config.

``setup_env`` applies ``env_cfg`` (cudnn benchmark, multiprocessing start
method, OpenCV threads; one OpenMP/MKL thread per rank in distributed runs
unless the environment sets them, as MMEngine does), starts the distributed backend for the launcher and
picks the device. ``log_start`` writes what a reader of the log needs to
reproduce the run; ``dump_config`` writes the config beside the log file and into ``work_dir``.
"""

import os.path as osp
import platform
import sys
from typing import Any, Dict

import torch

from loomcv import __version__, dist
from loomcv.config.record import config_text
from loomcv.dist.watchdog import backend_timeout
from loomcv.errors import ConfigError, did_you_mean

LAUNCHERS = ("none", "pytorch", "slurm")


def setup_env(env_cfg: dict, launcher: str) -> torch.device:
    """Apply ``env_cfg``, initialise distributed training for ``launcher``; returns this rank's device."""
    if env_cfg.get("cudnn_benchmark"):
        torch.backends.cudnn.benchmark = True
    mp_cfg = dict(env_cfg.get("mp_cfg") or {})
    method = mp_cfg.get("mp_start_method")
    if method is not None and sys.platform != "win32":
        import multiprocessing as mp
        if mp.get_start_method(allow_none=True) != method:
            mp.set_start_method(method, force=True)
    if mp_cfg.get("opencv_num_threads") is not None:
        import cv2
        cv2.setNumThreads(int(mp_cfg["opencv_num_threads"]))
    if launcher != "none":  # many ranks on one machine: one OpenMP/MKL thread each unless told otherwise
        import os
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    if launcher not in LAUNCHERS:
        raise ConfigError(f"Runner: unknown launcher {launcher!r}; valid: {', '.join(LAUNCHERS)}."
                          f"{did_you_mean(str(launcher), LAUNCHERS)}")
    dist_cfg = dict(env_cfg.get("dist_cfg") or {})
    if launcher != "none":
        init_args = {k: v for k, v in dist_cfg.items() if k not in ("timeout", "watchdog")}
        backend = init_args.pop("backend", None)
        if backend == "nccl" and not torch.cuda.is_available():
            backend = "gloo"  # the MMEngine default config says nccl; a CPU machine needs gloo
        dist.init_dist(launcher, backend=backend, timeout=backend_timeout(dist_cfg), **init_args)
    if torch.cuda.is_available():
        _, world_size = dist.get_dist_info()
        return torch.device("cuda", dist.get_local_rank() if world_size > 1 else torch.cuda.current_device())
    return torch.device("cpu")


def collect_env(device: torch.device) -> Dict[str, Any]:
    """Platform, library versions and the device, for the start of the log."""
    import numpy as np
    info = dict(sys_platform=platform.platform(), python=sys.version.replace("\n", " "),
                torch=torch.__version__, numpy=np.__version__, cuda_available=torch.cuda.is_available(),
                torch_threads=torch.get_num_threads(), device=str(device), loomcv=__version__)
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def log_start(runner) -> None:
    """Log the environment, the randomness and launcher settings, the config and the hook order."""
    info = collect_env(runner.device)
    runner.logger.info("\n" + "-" * 60 + "\nSystem environment:\n" +
                       "\n".join(f"    {k}: {v}" for k, v in info.items()) +
                       f"\n\nRuntime environment:\n    seed: {runner.seed}\n    randomness: {runner._randomness_cfg}"
                       f"\n    launcher: {runner.launcher}\n    distributed: {runner.distributed} "
                       f"(world size {runner.world_size})\n    strategy: {runner.strategy!r}\n" + "-" * 60)
    cfg = runner.cfg
    if cfg is not None:
        runner.logger.info(f"Config:\n{config_text(cfg)}")
    legacy = getattr(cfg, "legacy_keys", None)
    if legacy:
        runner.logger.info(f"{getattr(cfg, 'filename', None) or 'the config'} is an MMCV 1.x config "
                           f"({', '.join(legacy)}); it runs as the native config above "
                           f"(`loomcv print-config CONFIG --translated --explain` maps each value)")
    runner.logger.info(f"Hooks will be executed in the following order:\n{runner.get_hooks_info()}")


def dump_config(runner) -> None:
    """Write the config (rank 0), named like the config file or the log: into the log folder, and
    at ``work_dir/<config name>.py`` where MMEngine puts it (the latest run's config)."""
    cfg = runner.cfg
    if cfg is None or runner.rank != 0:
        return
    filename = getattr(cfg, "filename", None)
    name = osp.basename(filename) if filename else f"{runner.timestamp}.py"
    for folder in (runner.log_dir, runner.work_dir):
        try:
            cfg.dump(osp.join(folder, name))
        except Exception as err:  # built objects in the config cannot be written out
            runner.logger.warning(f"config not dumped to {folder}: {type(err).__name__}: {err}")
            return
