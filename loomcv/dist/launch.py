"""Start the default process group from the launcher's environment (torchrun or SLURM)."""

import datetime
import os
import re
import shutil
import subprocess
from typing import Optional, Union

import torch
import torch.distributed as torch_dist

LAUNCHERS = ("pytorch", "slurm")
BACKENDS = ("gloo", "nccl", "mpi")


def _require_env(names, launcher: str, hint: str) -> dict:
    missing = [n for n in names if n not in os.environ]
    if missing:
        raise RuntimeError(f"init_dist(launcher={launcher!r}) needs the environment variable(s) "
                           f"{', '.join(missing)}; {hint}")
    return {n: os.environ[n] for n in names}


def _timeout(value: Union[None, int, float, datetime.timedelta]) -> datetime.timedelta:
    if value is None:
        return datetime.timedelta(minutes=30)
    if isinstance(value, datetime.timedelta):
        return value
    return datetime.timedelta(seconds=float(value))


def first_slurm_host(nodelist: str) -> str:
    """The first host of a SLURM node list such as ``gpu[03-05,09],cpu1`` (-> ``gpu03``)."""
    if shutil.which("scontrol"):
        out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                             text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.split()[0]
    match = re.match(r"([^,\[]+)(?:\[([^\]]+)\])?", nodelist.strip())
    if not match:
        raise RuntimeError(f"cannot read the first host of SLURM_NODELIST={nodelist!r}")
    prefix, ranges = match.groups()
    if not ranges:
        return prefix
    return prefix + re.split(r"[-,]", ranges)[0]


def init_dist(launcher: str, backend: Optional[str] = None,
              timeout: Union[None, int, float, datetime.timedelta] = None,
              port: Optional[int] = None, **kwargs) -> None:
    """Create the default process group for ``launcher`` ('pytorch' = torchrun, or 'slurm').

    ``backend`` defaults to 'nccl' when CUDA is available, else 'gloo';
    ``timeout`` is seconds or a timedelta (default 30 minutes); other keyword
    arguments go to ``torch.distributed.init_process_group``. Calling it again
    once a group exists does nothing.
    """
    if launcher not in LAUNCHERS:
        raise ValueError(f"init_dist: unknown launcher {launcher!r}; valid launchers: "
                         f"{', '.join(LAUNCHERS)} (use launcher='none' in the runner for one process)")
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend not in BACKENDS:
        raise ValueError(f"init_dist: unknown backend {backend!r}; valid backends: {', '.join(BACKENDS)}")
    if torch_dist.is_initialized():
        return
    if launcher == "pytorch":
        env = _require_env(["RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"], launcher,
                           "start the script with `torchrun --nproc_per_node N ...`.")
        local_rank = int(os.environ.get("LOCAL_RANK", 0))
    else:
        env = _require_env(["SLURM_PROCID", "SLURM_NTASKS", "SLURM_NODELIST"], launcher,
                           "start the script with `srun` inside a SLURM allocation.")
        local_rank = int(os.environ.get("SLURM_LOCALID", 0))
        os.environ["RANK"] = env["SLURM_PROCID"]
        os.environ["WORLD_SIZE"] = env["SLURM_NTASKS"]
        os.environ["LOCAL_RANK"] = str(local_rank)
        if port is not None:
            os.environ["MASTER_PORT"] = str(port)
        os.environ.setdefault("MASTER_PORT", "29500")
        os.environ.setdefault("MASTER_ADDR", first_slurm_host(env["SLURM_NODELIST"]))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    torch_dist.init_process_group(backend=backend, init_method="env://", timeout=_timeout(timeout),
                                  rank=int(os.environ["RANK"]),
                                  world_size=int(os.environ["WORLD_SIZE"]), **kwargs)
