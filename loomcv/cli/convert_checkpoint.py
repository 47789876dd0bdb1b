"""``loomcv convert-checkpoint IN OUT``: move weights between checkpoint formats.

Reads our checkpoints, bare state dicts, MMEngine/MMPretrain checkpoints
(``{'meta', 'state_dict', ...}``) and ``.safetensors``; writes our format
(``meta`` + ``state_dict``, plus training state when the input is ours), a bare
state dict, or ``.safetensors`` (weights, with ``meta`` as JSON in the header).
Everything written loads with ``torch.load(weights_only=True)``.

MMEngine files often pickle classes (its HistoryBuffer, numpy values): they load
only with ``--unsafe-pickle``, which unpickles them (it can run code: use it on
files you trust). Their training state (optimizer, message hub, schedulers) is
not carried over; numpy values in ``meta`` become Python numbers or tensors.
"""

import argparse
import os
from collections.abc import Mapping
from typing import Any, List, Tuple

FORMATS = ("loomcv", "state-dict", "safetensors")
TRAINING_STATE = ("optimizer", "param_schedulers", "message_hub", "ema_state_dict")
_DROP = object()  # marks a value left out of the converted meta


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="checkpoint to read (.pth/.pt/.ckpt or .safetensors)")
    parser.add_argument("output", help="file to write")
    parser.add_argument("--to", choices=FORMATS, default=None,
                        help="output format (default: safetensors for a .safetensors OUT, else loomcv)")
    parser.add_argument("--prefix", metavar="P",
                        help="keep only weights under P (e.g. 'backbone') with P. removed")
    parser.add_argument("--drop-optimizer", action="store_true",
                        help="leave the optimizer state out (a smaller file for fine-tuning or release)")
    parser.add_argument("--unsafe-pickle", action="store_true",
                        help="read IN with torch.load(weights_only=False): needed for MMEngine files that "
                             "pickle classes; this can run code from the file, so use it only on trusted files")


def _plain(value: Any, path: str, dropped: List[str], for_json: bool) -> Any:
    """``value`` as tensors and plain data (only JSON types when ``for_json``); the rest is dropped."""
    import numpy as np
    import torch

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, np.ndarray) and value.dtype != object:
        value = value.tolist() if for_json else torch.from_numpy(value.copy())
    if isinstance(value, (bool, int, float, str, type(None))):
        return value
    if isinstance(value, torch.Tensor) and not for_json:
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            item = _plain(item, f"{path}[{key!r}]", dropped, for_json)
            if item is not _DROP:
                out[key if isinstance(key, (str, int, float, bool)) else str(key)] = item
        return out
    if isinstance(value, (list, tuple)):
        items = [_plain(v, f"{path}[{i}]", dropped, for_json) for i, v in enumerate(value)]
        items = [v for v in items if v is not _DROP]
        return items if for_json or type(value) is list else tuple(items)
    dropped.append(f"{path} ({type(value).__name__})")
    return _DROP


def _source_kind(checkpoint: dict, filename: str) -> str:
    meta = checkpoint.get("meta") if isinstance(checkpoint.get("meta"), Mapping) else {}
    if "loomcv_version" in meta:
        return "loomcv"
    if filename.endswith(".safetensors"):
        return "safetensors"
    if "state_dict" in checkpoint or "model" in checkpoint:
        return "MMEngine/MMPretrain-style" if meta else "checkpoint"
    return "bare state dict"


def convert(src: str, dst: str, to: str = None, prefix: str = None, drop_optimizer: bool = False,
            unsafe_pickle: bool = False) -> Tuple[str, List[str]]:
    """Convert ``src`` into ``dst``; returns (a one-line summary, what was left out)."""
    from loomcv.checkpoint import _load_checkpoint, get_state_dict_from, save_checkpoint, save_safetensors, take_prefix

    src, dst = os.fspath(src), os.fspath(dst)
    to = to or ("safetensors" if dst.endswith(".safetensors") else "loomcv")
    if to not in FORMATS:
        from loomcv.errors import ConfigError, did_you_mean
        raise ConfigError(f"convert-checkpoint: --to must be one of {FORMATS}, got {to!r}.{did_you_mean(to, FORMATS)}")
    checkpoint = _load_checkpoint(src, map_location="cpu", weights_only=not unsafe_pickle)
    kind = _source_kind(checkpoint, src)
    weights = get_state_dict_from(checkpoint, src)
    bare = weights is checkpoint
    meta = checkpoint.get("meta") if not bare and isinstance(checkpoint.get("meta"), Mapping) else {}
    meta = dict(meta)
    extras = {} if bare else {k: v for k, v in checkpoint.items() if k != "meta" and v is not weights}
    state_dict = dict(take_prefix(weights, prefix, src) if prefix else weights)
    keep = kind == "loomcv" and to == "loomcv" and not prefix
    dropped = [k for k in extras if not keep or (drop_optimizer and k == "optimizer")]
    if to == "safetensors" and "rng" in meta:  # training state, not weights
        del meta["rng"]
        dropped.append("meta['rng']")
    meta = _plain(meta, "meta", dropped, for_json=(to == "safetensors"))
    if to == "safetensors":
        save_safetensors(state_dict, dst, meta=meta)
    elif to == "state-dict":
        dropped += ["meta"] if meta else []
        save_checkpoint(state_dict, dst)
    else:
        out = dict(meta=meta, state_dict=state_dict)
        out.update((k, v) for k, v in extras.items() if k not in dropped)
        save_checkpoint(out, dst)
    summary = (f"{src} ({kind}, {len(state_dict)} tensors) -> {dst} ({to})"
               + (f", prefix {prefix!r}" if prefix else ""))
    return summary, dropped


def run(args: argparse.Namespace) -> int:
    summary, dropped = convert(args.input, args.output, args.to, args.prefix, args.drop_optimizer,
                               args.unsafe_pickle)
    print(summary)
    if dropped:
        print("left out: " + ", ".join(dropped))
    return 0
