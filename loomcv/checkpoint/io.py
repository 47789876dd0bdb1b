"""Checkpoint files: atomic writing, reading (local, ``.safetensors``, URLs, ``scheme://NAME``), the latest marker.

Saving writes a temporary file in the same folder, fsyncs it and renames it
over the target, so a run killed while saving leaves the previous file whole.
A checkpoint holds only tensors and plain Python values (numbers, strings,
bools, None, lists, tuples, dicts), so ``torch.load(weights_only=True)``
reads it in any torch version: :func:`save_checkpoint` refuses anything else
by key path, and :func:`_load_checkpoint` never unpickles code unless asked.
"""

import errno
import io
import json
import os
import os.path as osp
import re
import shutil
import tempfile
from collections import Counter, OrderedDict
from contextlib import contextmanager
from typing import Any, Dict, List, Optional

import torch
import torch.nn as nn

from loomcv.errors import CheckpointError

from .urls import fetch, is_remote, take_table_prefix

LAST_CHECKPOINT = "last_checkpoint"
SAFETENSORS_META_KEY = "loomcv.meta"  # the safetensors header entry that holds ``meta`` as JSON

# exact types only (a dict/tuple subclass such as ConfigDict or a namedtuple pickles its class);
# the few library types here are on torch's weights_only allow-list
PLAIN_VALUES = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device, torch.Size)
PLAIN_MAPPINGS = (dict, OrderedDict, Counter)
PLAIN_SEQUENCES = (list, tuple, set)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0]}" if text else type(err).__name__


# ------------------------------------------------------------------ writing


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


#: errors that mean the file system has no room left (disk full, or the user's quota used up)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def _write_bytes(fd: int, data) -> int:
    """The one place checkpoint bytes reach the disk (a test makes it fail as a full disk would)."""
    return os.write(fd, data)


class _DiskWriter(io.RawIOBase):
    """A raw file whose writes go through :func:`_write_bytes`, so a full disk surfaces as the
    OSError(ENOSPC) it is, not as torch's later 'unexpected pos' complaint."""

    def __init__(self, path: str):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return _write_bytes(self.fd, data)

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def _size_text(nbytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if nbytes < 1024 or unit == "GB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} TB"  # pragma: no cover


def _tensor_bytes(value: Any, seen: Optional[set] = None) -> int:
    """Bytes of the distinct tensor storages in a nested checkpoint (its size, give or take the pickle)."""
    seen = set() if seen is None else seen
    if isinstance(value, torch.Tensor):
        storage = value.untyped_storage()
        key = (storage.data_ptr(), storage.nbytes(), str(value.device))
        if key in seen:
            return 0
        seen.add(key)
        return storage.nbytes()
    if isinstance(value, dict):
        return sum(_tensor_bytes(v, seen) for v in value.values())
    if isinstance(value, (list, tuple, set)):
        return sum(_tensor_bytes(v, seen) for v in value)
    return 0


def _good_checkpoint(folder: str, target: str) -> str:
    """Which checkpoint is still whole after a failed save into ``folder``."""
    latest = find_latest_checkpoint(folder)
    if latest is None and osp.isfile(target):
        latest = target  # the file being replaced is untouched
    if latest is None:
        others = [osp.join(folder, f) for f in os.listdir(folder) if f.endswith((".pth", ".safetensors"))]
        latest = max(others, key=osp.getmtime) if others else None
    if latest is None:
        return f"There is no earlier checkpoint in {folder}, so nothing to resume from yet."
    return (f"The last good checkpoint, untouched, is {latest}: resume from it (resume='auto', or "
            f"`loomcv train CONFIG --resume`) once there is space.")


def _no_space_error(filename: str, err: OSError, needed: Optional[int]) -> CheckpointError:
    folder = osp.dirname(osp.abspath(filename))
    free = shutil.disk_usage(folder).free
    need = (f"The checkpoint needs about {_size_text(needed)}; " if needed is not None else "") + \
        f"{folder} has {_size_text(free)} free."
    return CheckpointError(
        f"cannot save checkpoint {filename!r}: the disk is full ({os.strerror(err.errno)}). {need} "
        f"{_good_checkpoint(folder, osp.abspath(filename))} Free some space (fewer kept checkpoints: "
        "CheckpointHook max_keep_ckpts; save_optimizer=False leaves out the optimizer state) or set a work_dir on "
        "another disk. The partial file was removed.")


@contextmanager
def _atomic_file(filename: str, needed: Optional[int] = None):
    """Yield a temporary path beside ``filename``; on success fsync and rename it over ``filename``.

    On failure the temporary file is removed; a full disk is reported as such, with ``needed``
    (the bytes the file takes) and the checkpoint that is still good.
    """
    folder = osp.dirname(osp.abspath(filename))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{osp.basename(filename)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, filename)
    except BaseException as err:
        if osp.exists(tmp):
            os.remove(tmp)
        if isinstance(err, OSError) and err.errno in NO_SPACE:
            raise _no_space_error(filename, err, needed) from err
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
    """Write ``checkpoint`` to ``filename`` atomically, after checking it holds only plain data.

    A full disk ends in a :class:`CheckpointError` that says so, with the size needed and the
    checkpoint still good to resume from; the previous file stays whole and no partial one is left.
    """
    check_plain(checkpoint, filename)
    with _atomic_file(filename, needed=_tensor_bytes(checkpoint)) as tmp:
        with io.BufferedWriter(_DiskWriter(tmp), buffer_size=1 << 22) as f:
            torch.save(checkpoint, f)


def save_safetensors(state_dict: Dict[str, torch.Tensor], filename: str, meta: Optional[dict] = None) -> None:
    """Write weights as ``.safetensors`` (atomically); ``meta`` goes into the header as JSON.

    Tensors sharing memory (tied weights) are copied, as the format requires.
    """
    from safetensors.torch import save_file

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
    with _atomic_file(filename, needed=_tensor_bytes(tensors)) as tmp:
        save_file(tensors, tmp, metadata=header)


# ------------------------------------------------------------------ reading


def _load_safetensors(filename: str, device) -> dict:
    from safetensors import SafetensorError, safe_open
    try:
        with safe_open(filename, framework="pt", device=device) as f:
            state_dict = OrderedDict((k, f.get_tensor(k)) for k in f.keys())
            header = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{filename!r} is not a readable .safetensors file ({_first_line(err)})") from err
    if SAFETENSORS_META_KEY not in header:
        return state_dict
    try:
        meta = json.loads(header[SAFETENSORS_META_KEY])
    except ValueError as err:
        raise CheckpointError(f"{filename!r}: the {SAFETENSORS_META_KEY!r} entry of its header is not "
                              f"JSON ({_first_line(err)})") from err
    return dict(meta=meta, state_dict=state_dict)


#: path prefix -> loader(filename, map_location), added by CheckpointLoader.register_scheme (MMEngine's API)
SCHEME_LOADERS: Dict[str, Any] = {}


def _load_checkpoint(filename: str, map_location="cpu", weights_only: bool = True) -> dict:
    """Read a checkpoint (local path, ``.safetensors``, http(s) URL or ``scheme://NAME``) into a dict.

    URLs and schemes (``torchvision://resnet50``, ``mmcls://resnet50``) resolve
    through :mod:`loomcv.checkpoint.urls`.

    ``weights_only=False`` unpickles arbitrary objects (MMEngine files with
    HistoryBuffer or numpy values need it): use it only for files you trust.
    """
    filename = os.fspath(filename)
    for prefix in sorted(SCHEME_LOADERS, key=len, reverse=True):  # the longest matching prefix wins
        if filename.startswith(prefix):
            return SCHEME_LOADERS[prefix](filename, map_location)
    if is_remote(filename):  # http(s) URLs and scheme://NAME: torch.hub's cache first, then a download
        path, table = fetch(filename)
        return take_table_prefix(_load_checkpoint(path, map_location, weights_only), table, filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"checkpoint file {filename!r} does not exist")
    if filename.endswith(".safetensors"):
        return _load_safetensors(filename, map_location if isinstance(map_location, str) else "cpu")
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=weights_only)
    except Exception as err:
        if weights_only and "weights only load failed" in str(err).lower():
            found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", str(err))
            raise CheckpointError(
                f"{filename!r} holds pickled Python objects"
                + (f" ({found.group(1)})" if found else "")
                + ", which torch.load(weights_only=True) refuses because unpickling them can run code. "
                "If you trust the file, convert it once with `loomcv convert-checkpoint --unsafe-pickle "
                f"{filename} OUT.pth` (or pass weights_only=False) and use the converted file.") from err
        raise CheckpointError(
            f"{filename!r} is not a readable PyTorch checkpoint ({_first_line(err)}); it may be truncated "
            "or not a checkpoint at all. Expected a file written by torch.save (a state dict or a dict "
            "with 'state_dict') or a .safetensors file.") from err
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{filename!r} holds a {type(checkpoint).__name__}, not a checkpoint dict "
                              "(a state dict or a dict with 'state_dict')")
    return checkpoint


# ------------------------------------------------------------------ the latest checkpoint


def is_sharded_checkpoint(path: str) -> bool:
    """A folder written by torch.distributed.checkpoint (a sharded strategy's checkpoint)."""
    return osp.isdir(path) and osp.isfile(osp.join(path, ".metadata"))


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
