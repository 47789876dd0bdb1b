"""Writing checkpoint files atomically, and finding the latest one to resume from.

A checkpoint is a dict in MMEngine's layout: ``meta``, ``state_dict``,
``optimizer``, ``param_schedulers``, ``message_hub`` (plus what hooks add).
Saving writes a temporary file in the same folder, fsyncs it and renames it
over the target, so a run killed while saving leaves the previous file whole.
A checkpoint holds only tensors and plain values (numbers, strings, bools,
None, lists, tuples, dicts), so ``torch.load(weights_only=True)`` reads it in
any torch version; :func:`save_checkpoint` refuses anything else by key path.
Reading lives in :mod:`loomcv.model.checkpoint`.
"""

import json
import os
import os.path as osp
import tempfile
from collections import Counter, OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from loomcv.errors import CheckpointError

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


# exact types only (a dict/tuple subclass such as ConfigDict or a namedtuple pickles its class);
# the few library types here are on torch's weights_only allow-list
PLAIN_VALUES = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.Size)
PLAIN_MAPPINGS = (dict, OrderedDict, Counter)
PLAIN_SEQUENCES = (list, tuple, set)


def non_plain_values(value: Any, path: str = "checkpoint") -> List[str]:
    """Key paths (``checkpoint['meta']['cfg']``) of values that are not tensors or plain data."""
    if isinstance(value, torch.Tensor) and type(value) in (torch.Tensor, nn.Parameter):
        return []
    if type(value) in PLAIN_VALUES:
        return []
    if type(value) in PLAIN_MAPPINGS:
        bad = [f"{path} has a key of type {type(k).__name__}: {k!r}" for k in value
               if type(k) not in (str, int, float, bool, type(None))]
        for key, item in value.items():
            bad += non_plain_values(item, f"{path}[{key!r}]")
        return bad
    if type(value) in PLAIN_SEQUENCES:
        return [b for i, item in enumerate(value) for b in non_plain_values(item, f"{path}[{i}]")]
    return [f"{path} is a {type(value).__module__}.{type(value).__qualname__}"]


def check_plain(checkpoint: Any, filename: str) -> None:
    """Raise :class:`CheckpointError` naming every value ``weights_only=True`` could not load."""
    bad = non_plain_values(checkpoint)
    if bad:
        shown = "\n  ".join(bad[:10]) + (f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise CheckpointError(
            f"refusing to save {filename!r}: a checkpoint may hold only tensors, numbers, strings, bools, "
            f"None, lists, tuples and dicts (so torch.load(weights_only=True) can read it), but\n  {shown}\n"
            "Store such values as their state_dict(), a string or a list instead.")


@contextmanager
def _atomic_file(filename: str):
    """Yield a temporary path beside ``filename``; on success fsync and rename it over ``filename``."""
    folder = osp.dirname(osp.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{osp.basename(filename)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
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


def save_checkpoint(checkpoint: Dict[str, Any], filename: str) -> None:
    """Write ``checkpoint`` to ``filename`` atomically, after checking it holds only plain data."""
    check_plain(checkpoint, filename)
    with _atomic_file(filename) as tmp:
        torch.save(checkpoint, tmp)


def save_safetensors(state_dict: Dict[str, torch.Tensor], filename: str, meta: Optional[dict] = None) -> None:
    """Write weights as ``.safetensors`` (atomically); ``meta`` goes into the header as JSON.

    Tensors sharing memory (tied weights) are copied, as the format requires.
    """
    from safetensors.torch import save_file

    from loomcv.model.checkpoint import SAFETENSORS_META_KEY
    tensors, seen = OrderedDict(), set()
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"cannot write {filename!r}: state_dict[{key!r}] is a "
                                  f"{type(value).__name__}, and .safetensors holds only tensors")
        value = value.detach().cpu().contiguous()
        storage = value.untyped_storage()
        if storage.data_ptr() in seen or storage.nbytes() != value.numel() * value.element_size():
            value = value.clone()
        seen.add(value.untyped_storage().data_ptr())
        tensors[key] = value
    header = {"format": "pt"}
    if meta is not None:
        try:
            header[SAFETENSORS_META_KEY] = json.dumps(meta)
        except (TypeError, ValueError) as err:
            raise CheckpointError(f"cannot write {filename!r}: its meta is not JSON ({err})") from err
    with _atomic_file(filename) as tmp:
        save_file(tensors, tmp, metadata=header)


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
