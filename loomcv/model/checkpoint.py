"""Reading checkpoint files and loading state dicts with a clear report.

A checkpoint is a ``.pth`` file (MMEngine layout ``{'meta', 'state_dict', ...}``
or a bare state dict) or a ``.safetensors`` file. Loading never fails on
missing/unexpected/mis-shaped keys unless ``strict``; it reports them instead.
"""

import logging
import os
import re
from collections import OrderedDict
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn

logger = logging.getLogger("loomcv")

DEFAULT_REVISE_KEYS = ((r"^module\.", ""),)


def _log(msg: str, level: int = logging.INFO) -> None:
    try:
        from loomcv.logging import print_log
    except ImportError:
        logger.log(level, msg)
    else:
        print_log(msg, logger="current", level=level)


def _load_checkpoint(filename: str, map_location="cpu", weights_only: bool = True) -> dict:
    """Read a checkpoint file (local path, ``.safetensors`` or http(s) URL) into a dict."""
    filename = os.fspath(filename)
    if filename.startswith(("http://", "https://")):
        return torch.hub.load_state_dict_from_url(filename, map_location=map_location,
                                                  weights_only=weights_only)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"checkpoint file {filename!r} does not exist")
    if filename.endswith(".safetensors"):
        from safetensors.torch import load_file
        device = map_location if isinstance(map_location, str) else "cpu"
        return dict(load_file(filename, device=device))
    try:
        checkpoint = torch.load(filename, map_location=map_location, weights_only=weights_only)
    except Exception as err:
        raise ValueError(
            f"{filename!r} is not a readable PyTorch checkpoint ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else ''}). Expected a file written by torch.save "
            f"(a state dict or a dict with 'state_dict') or a .safetensors file.") from err
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{filename!r} holds a {type(checkpoint).__name__}, not a checkpoint dict "
                         "(a state dict or a dict with 'state_dict')")
    return checkpoint


def get_state_dict_from(checkpoint: dict, filename: str = "checkpoint") -> Dict[str, torch.Tensor]:
    """The model weights inside a checkpoint dict: its 'state_dict' or 'model' entry, or itself."""
    for key in ("state_dict", "model"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise ValueError(f"no state dict in {filename!r}: top-level keys are {sorted(checkpoint)[:10]}; "
                     "expected tensors or a 'state_dict' entry")


def rename_keys(state_dict: Dict[str, torch.Tensor],
                revise: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS) -> Dict[str, torch.Tensor]:
    """Rename keys with regex substitutions (by default strip DDP's ``module.``)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        for pattern, repl in revise:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def take_prefix(state_dict: Dict[str, torch.Tensor], prefix: str,
                filename: str = "checkpoint") -> Dict[str, torch.Tensor]:
    """The entries under ``prefix.`` with the prefix removed (``backbone.conv1.weight`` -> ``conv1.weight``)."""
    head = prefix if prefix.endswith(".") else prefix + "."
    out = OrderedDict((k[len(head):], v) for k, v in state_dict.items() if k.startswith(head))
    if not out:
        tops = sorted({k.split(".", 1)[0] for k in state_dict})
        raise KeyError(f"no key in {filename!r} starts with prefix {head!r}; its top-level prefixes "
                       f"are {tops}")
    return out


class LoadReport(NamedTuple):
    """What a non-strict load left out."""

    missing_keys: List[str]
    unexpected_keys: List[str]
    mismatched: List[Tuple[str, tuple, tuple]]  # (key, shape in checkpoint, shape in model)

    def __str__(self) -> str:
        lines = []
        if self.unexpected_keys:
            lines.append("unexpected key(s) in source state_dict: " + ", ".join(self.unexpected_keys))
        if self.missing_keys:
            lines.append("missing key(s) in source state_dict: " + ", ".join(self.missing_keys))
        for key, src, dst in self.mismatched:
            lines.append(f"size mismatch for {key}: checkpoint {tuple(src)}, model {tuple(dst)}")
        return "\n".join(lines)


def load_state_dict(module: nn.Module, state_dict: Dict[str, torch.Tensor], strict: bool = False,
                    source: str = "state_dict") -> LoadReport:
    """Load what fits; report missing, unexpected and mis-shaped keys; raise if ``strict``."""
    from .wrappers import is_model_wrapper

    if is_model_wrapper(module):
        module = module.module
    own = module.state_dict()
    mismatched = [(k, tuple(v.shape), tuple(own[k].shape)) for k, v in state_dict.items()
                  if k in own and hasattr(v, "shape") and tuple(v.shape) != tuple(own[k].shape)]
    bad = {k for k, _, _ in mismatched}
    result = module.load_state_dict({k: v for k, v in state_dict.items() if k not in bad}, strict=False)
    missing = [k for k in result.missing_keys if k not in bad]
    report = LoadReport(missing, list(result.unexpected_keys), mismatched)
    text = str(report)
    if text:
        if strict:
            raise RuntimeError(f"loading {source} into {type(module).__name__} (strict):\n{text}")
        _log(f"loading {source} into {type(module).__name__}:\n{text}", logging.WARNING)
    return report


def load_checkpoint(model: nn.Module, filename: str, map_location="cpu", strict: bool = False,
                    prefix: Optional[str] = None,
                    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
                    weights_only: bool = True) -> dict:
    """Load a checkpoint file into ``model``; ``prefix`` loads only that sub-tree of the file.

    ``revise_keys`` are regex renames applied first. Returns the whole checkpoint dict.
    """
    checkpoint = _load_checkpoint(filename, map_location, weights_only)
    state_dict = rename_keys(get_state_dict_from(checkpoint, filename), revise_keys)
    if prefix:
        state_dict = take_prefix(state_dict, prefix, filename)
    source = f"{filename!r}" + (f" (prefix {prefix!r})" if prefix else "")
    load_state_dict(model, state_dict, strict, source)
    return checkpoint
