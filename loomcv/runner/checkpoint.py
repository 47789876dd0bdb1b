"""Writing checkpoint files atomically, and finding the latest one to resume from.

A checkpoint is a dict in MMEngine's layout: ``meta``, ``state_dict``,
``optimizer``, ``param_schedulers``, ``message_hub`` (plus what hooks add).
Saving writes a temporary file in the same folder, fsyncs it and renames it
over the target, so a run killed while saving leaves the previous file whole.
Reading (``weights_only=True``) lives in :mod:`loomcv.model.checkpoint`.
"""

import os
import os.path as osp
import tempfile
from collections import OrderedDict
from typing import Any, Dict, Optional

import torch
import torch.nn as nn

LAST_CHECKPOINT = "last_checkpoint"


def _unwrap(model: nn.Module) -> nn.Module:
    """The model inside DataParallel/DistributedDataParallel-style wrappers."""
    while hasattr(model, "module") and isinstance(model.module, nn.Module):
        model = model.module
    return model


def weights_to_cpu(state: Any) -> Any:
    """A copy of a (nested) state dict with every tensor moved to the CPU."""
    if isinstance(state, torch.Tensor):
        return state.detach().cpu()
    if isinstance(state, OrderedDict):
        return OrderedDict((k, weights_to_cpu(v)) for k, v in state.items())
    if isinstance(state, dict):
        return {k: weights_to_cpu(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(weights_to_cpu(v) for v in state)
    return state


def get_state_dict(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """The model's state dict without wrapper prefixes, on the CPU."""
    return weights_to_cpu(_unwrap(model).state_dict())


def save_checkpoint(checkpoint: Dict[str, Any], filename: str) -> None:
    """Write ``checkpoint`` to ``filename`` atomically (temp file, fsync, rename)."""
    folder = osp.dirname(osp.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{osp.basename(filename)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(checkpoint, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on folders
        pass


def find_latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint named in ``work_dir/last_checkpoint``, or None."""
    marker = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(marker):
        return None
    with open(marker, encoding="utf-8") as f:
        path = f.read().strip()
    if path and not osp.isabs(path):
        path = osp.join(work_dir, path)
    return path if path and osp.isfile(path) else None


def write_latest_marker(work_dir: str, checkpoint_path: str) -> None:
    """Record ``checkpoint_path`` as the one ``resume='auto'`` picks up."""
    marker = osp.join(work_dir, LAST_CHECKPOINT)
    tmp = marker + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(checkpoint_path)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, marker)
