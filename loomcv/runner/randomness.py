"""Seeding and RNG snapshots, so runs repeat and resumed runs continue identically.

Snapshots hold only tensors, ints, floats and tuples, so they load with
``torch.load(weights_only=True)``.
"""

import os
import random
from typing import Optional

import numpy as np
import torch


def set_random_seed(seed: Optional[int] = None, deterministic: bool = False,
                    diff_rank_seed: bool = False) -> int:
    """Seed python, numpy and torch; returns the seed used.

    Without ``seed`` one is drawn on rank 0 and shared by all ranks; with
    ``diff_rank_seed`` each rank adds its rank to it. ``deterministic`` asks torch
    for deterministic algorithms (and cuDNN for deterministic kernels).
    """
    from loomcv.dist import get_rank, sync_random_seed
    if seed is None:
        seed = sync_random_seed()
    seed = int(seed)
    if diff_rank_seed:
        seed += get_rank()
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
        torch.use_deterministic_algorithms(True, warn_only=True)
    return seed


def get_rng_state() -> dict:
    """The current states of python's, numpy's and torch's (CPU and CUDA) generators."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = dict(python=random.getstate(),
                 numpy=dict(kind=kind, keys=torch.from_numpy(keys.astype(np.int64)), pos=int(pos),
                            has_gauss=int(has_gauss), cached_gaussian=float(cached)),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what :func:`get_rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
