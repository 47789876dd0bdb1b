"""Sharded checkpoints (a folder written by ``torch.distributed.checkpoint``) and the two layouts of
an optimizer state dict.

A sharded checkpoint is a folder: every rank writes its shards of the model
weights and optimizer state through DCP (``.metadata`` plus ``__<rank>_0.distcp``
files), and rank 0 writes everything else (``meta``, ``message_hub``,
``param_schedulers``, the optimizer's param groups, hook entries) to
``runner_state.pth`` beside them. DCP reshards on load, so the folder loads on
another number of ranks, or in one process.

Optimizer state dicts come keyed by parameter index (``optimizer.state_dict()``,
what a plain or DDP run saves) or by parameter name (what
``torch.distributed.checkpoint.state_dict`` returns). Full checkpoints always
hold the index-keyed layout, so every strategy and a single process can read
them; :func:`names_to_indices` and :func:`indices_to_names` convert.
"""

import os
import os.path as osp
import warnings
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from loomcv.checkpoint import _load_checkpoint, save_checkpoint
from loomcv.errors import CheckpointError

RUNNER_STATE = "runner_state.pth"
_TENSOR_KEYS = ("state_dict", "optimizer_state")


# ---------------------------------------------------------------- optimizer layouts


def parameter_names(model: nn.Module, optimizer: torch.optim.Optimizer) -> List[str]:
    """The name of each parameter of ``optimizer``, in the order its state_dict numbers them."""
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    out = []
    for group in optimizer.param_groups:
        for param in group["params"]:
            if id(param) not in names:
                raise CheckpointError(f"the optimizer holds a parameter of shape {tuple(param.shape)} that is "
                                      f"not a parameter of {type(model).__name__}")
            out.append(names[id(param)])
    return out


def indices_to_names(state: dict, names: List[str]) -> dict:
    """``optimizer.state_dict()`` layout -> keyed by parameter name."""
    return dict(state, state={names[i]: s for i, s in state.get("state", {}).items()},
                param_groups=[dict(g, params=[names[i] for i in g["params"]]) for g in state["param_groups"]])


def names_to_indices(state: dict, names: List[str]) -> dict:
    """Keyed by parameter name -> the ``optimizer.state_dict()`` layout."""
    index = {n: i for i, n in enumerate(names)}
    unknown = [k for k in state.get("state", {}) if k not in index]
    if unknown:
        raise CheckpointError(f"the checkpoint's optimizer state names parameters this model does not have: "
                              f"{unknown[:5]}{' ...' if len(unknown) > 5 else ''}")
    return dict(state, state={index[n]: s for n, s in state.get("state", {}).items()},
                param_groups=[dict(g, params=[index[n] for n in g["params"]]) for g in state["param_groups"]])


def is_name_keyed(state: dict) -> bool:
    groups = state.get("param_groups") or [{}]
    params = [p for g in groups for p in g.get("params", [])]
    return bool(params) and isinstance(params[0], str)


# ---------------------------------------------------------------- writing


def _split(state: Any) -> tuple:
    """(tensors, the rest) of a nested dict: two dicts of the same shape, each with only its leaves."""
    if isinstance(state, torch.Tensor):
        return state, None
    if not isinstance(state, dict):
        return None, state
    tensors, rest = {}, {}
    for key, value in state.items():
        t, r = _split(value)
        if t is not None:
            tensors[key] = t
        if r is not None:
            rest[key] = r
    return (tensors or None), (rest or None)


def _merge(tensors: Optional[dict], rest: Optional[dict]) -> dict:
    out = dict(rest or {})
    for key, value in (tensors or {}).items():
        out[key] = _merge(value, out.get(key)) if isinstance(value, dict) else value
    return out


def save_sharded(checkpoint: Dict[str, Any], folder: str, rank: int) -> None:
    """Write ``checkpoint`` (its ``state_dict`` and ``optimizer`` may hold DTensors) as a folder.

    Called on every rank; all ranks write their shards, rank 0 the rest.
    """
    import torch.distributed.checkpoint as dcp

    from loomcv import dist

    checkpoint = dict(checkpoint)
    optimizer = dict(checkpoint.pop("optimizer", None) or {})
    optim_tensors, optim_rest = _split(optimizer.pop("state", {}))
    weights = checkpoint.pop("state_dict")
    if rank == 0:
        os.makedirs(folder, exist_ok=True)
    dist.barrier()
    dcp.save({"state_dict": weights, "optimizer_state": optim_tensors or {}}, checkpoint_id=folder)
    if rank == 0:
        if optimizer or optim_rest:
            optimizer["state"] = optim_rest or {}
            checkpoint["optimizer"] = optimizer
        save_checkpoint(checkpoint, osp.join(folder, RUNNER_STATE))


# ---------------------------------------------------------------- reading


def _saved_shapes(folder: str) -> Dict[str, torch.Size]:
    from torch.distributed.checkpoint import FileSystemReader
    from torch.distributed.checkpoint.metadata import TensorStorageMetadata
    metadata = FileSystemReader(folder).read_metadata()
    return {k: v.size for k, v in metadata.state_dict_metadata.items() if isinstance(v, TensorStorageMetadata)}


def _template(state: Any, saved: Dict[str, torch.Size], prefix: str, reshape: bool) -> Any:
    """The entries of ``state`` that the folder holds; a plain tensor whose saved shape differs is
    replaced by an empty one of the saved shape (``reshape``), so the load report can name it."""
    if isinstance(state, dict):
        out = {}
        for key, value in state.items():
            sub = _template(value, saved, f"{prefix}.{key}", reshape)
            if sub is not None:
                out[key] = sub
        return out
    if not isinstance(state, torch.Tensor) or prefix not in saved:
        return None
    from torch.distributed.tensor import DTensor
    if tuple(saved[prefix]) == tuple(state.shape):
        return state
    if reshape and not isinstance(state, DTensor):
        return torch.empty(saved[prefix], dtype=state.dtype)
    return None


def load_sharded(folder: str, model: nn.Module, optimizer: Optional[torch.optim.Optimizer] = None,
                 name_keyed_optimizer: bool = False) -> dict:
    """Read a sharded checkpoint folder into a checkpoint dict shaped like a full one.

    ``model`` (unwrapped, sharded or not) and ``optimizer`` give the tensors to
    load into; the weights come back as that model's state-dict tensors (DTensors
    for a sharded model), ready for ``load_state_dict``. The optimizer state comes
    back keyed by name (``name_keyed_optimizer``) or by index.
    """
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.default_planner import DefaultLoadPlanner
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    runner_state = osp.join(folder, RUNNER_STATE)
    checkpoint = _load_checkpoint(runner_state) if osp.isfile(runner_state) else {}
    saved = _saved_shapes(folder)
    want = {"state_dict": _template(get_model_state_dict(model), saved, "state_dict", True)}
    if optimizer is not None and "optimizer" in checkpoint:
        state = get_optimizer_state_dict(model, optimizer)["state"]
        want["optimizer_state"] = _template(state, saved, "optimizer_state", False)
    from loomcv import dist
    with warnings.catch_warnings():  # one process reading a folder of shards is what we mean
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.load(want, checkpoint_id=folder, planner=DefaultLoadPlanner(allow_partial_load=True),
                 no_dist=not dist.is_distributed())
    checkpoint["state_dict"] = want["state_dict"]
    if "optimizer_state" in want:
        optim_state = dict(checkpoint["optimizer"])
        optim_state["state"] = _merge(want["optimizer_state"], optim_state.get("state"))
        if not name_keyed_optimizer:
            optim_state = names_to_indices(optim_state, parameter_names(model, optimizer))
        checkpoint["optimizer"] = optim_state
    return checkpoint
