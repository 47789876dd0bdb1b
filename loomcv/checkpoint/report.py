"""Putting a checkpoint's weights into a model, with one report of what fitted.

Every path that loads weights (Runner ``load_from``/``resume``,
``init_cfg=dict(type='Pretrained')``, a toolbox's inference API) goes through
:func:`load_state_dict`, which loads what fits, skips shape-mismatched keys and
logs one :class:`LoadReport` table; ``strict=True`` turns any problem into a
:class:`~loomcv.errors.CheckpointError` that shows the same table. The file
itself is read by :func:`loomcv.checkpoint.io._load_checkpoint`.
"""

import logging
import os
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from loomcv.errors import CheckpointError

from .io import _load_checkpoint

DEFAULT_REVISE_KEYS = ((r"^module\.", ""),)


def _log(msg: str, level: int = logging.INFO) -> None:
    from loomcv.logging import print_log
    print_log(msg, logger="current", level=level)


def get_state_dict_from(checkpoint: dict, filename: str = "checkpoint") -> Dict[str, torch.Tensor]:
    """The model weights inside a checkpoint dict: its 'state_dict' or 'model' entry, or itself."""
    for key in ("state_dict", "model"):
        if key in checkpoint and isinstance(checkpoint[key], dict):
            return checkpoint[key]
    if checkpoint and all(isinstance(v, torch.Tensor) for v in checkpoint.values()):
        return checkpoint
    raise CheckpointError(f"no state dict in {filename!r}: top-level keys are {sorted(checkpoint)[:10]}; "
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
        raise CheckpointError(f"no key in {filename!r} starts with prefix {head!r}; its top-level "
                              f"prefixes are {tops}")
    return out


# ------------------------------------------------------------------ the report


def summarise_keys(keys: Sequence[str], limit: int = 6) -> List[str]:
    """At most ``limit`` lines for ``keys``: each key when few, else groups like ``head.fc.* (2 keys)``.

    Groups use the deepest module prefix at which ``limit`` lines suffice.
    """
    keys = list(keys)
    if len(keys) <= limit:
        return keys
    groups = OrderedDict((k, [k]) for k in keys)
    for depth in range(max(k.count(".") for k in keys), 0, -1):
        if len(groups) <= limit:
            break
        groups = OrderedDict()
        for key in keys:
            groups.setdefault(".".join(key.split(".")[:depth]), []).append(key)
    lines = [members[0] if len(members) == 1 else f"{prefix}.* ({len(members)} keys)"
             for prefix, members in groups.items()]
    if len(lines) > limit:
        rest = list(groups.values())[limit - 1:]
        lines = lines[:limit - 1] + [f"... {len(rest)} more groups ({sum(map(len, rest))} keys)"]
    return lines


@dataclass
class LoadReport:
    """Which keys of a state dict went into a model, and which did not (and why)."""

    source: str = "state_dict"
    target: str = "model"
    matched: List[str] = field(default_factory=list)
    missing_keys: List[str] = field(default_factory=list)      # in the model, not in the source
    unexpected_keys: List[str] = field(default_factory=list)   # in the source, not in the model
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)  # (key, source shape, model shape)

    @property
    def ok(self) -> bool:
        return not (self.missing_keys or self.unexpected_keys or self.mismatched)

    def table(self, limit: int = 6) -> str:
        """Counts and (summarised) names per status, aligned; mismatches show both shapes."""
        rows = [("matched", self.matched, summarise_keys(self.matched, limit)),
                ("missing", self.missing_keys, summarise_keys(self.missing_keys, limit)),
                ("unexpected", self.unexpected_keys, summarise_keys(self.unexpected_keys, limit)),
                ("mismatched", self.mismatched, self._mismatch_lines(limit))]
        width = max(len(str(len(items))) for _, items, _ in rows)
        lines = [f"load {self.source} into {self.target}: "
                 + ", ".join(f"{len(items)} {name}" for name, items, _ in rows)]
        for name, items, names in rows:
            head = f"  {name:<10}  {len(items):>{width}}"
            lines.append(f"{head}  {names[0]}" if names else head)
            lines.extend(" " * (len(head) + 2) + n for n in names[1:])
        return "\n".join(lines)

    def _mismatch_lines(self, limit: int) -> List[str]:
        shown = self.mismatched if len(self.mismatched) <= limit else self.mismatched[:limit - 1]
        width = max((len(k) for k, _, _ in shown), default=0)
        lines = [f"{k:<{width}}  checkpoint {tuple(src)} vs model {tuple(dst)}" for k, src, dst in shown]
        if len(shown) < len(self.mismatched):
            rest = [k for k, _, _ in self.mismatched[len(shown):]]
            lines.append(f"... and {len(rest)} more: " + ", ".join(summarise_keys(rest, 3)))
        return lines

    __str__ = table


def load_state_dict(module: nn.Module, state_dict: Dict[str, torch.Tensor], strict: bool = False,
                    source: str = "state_dict") -> LoadReport:
    """Load what fits into ``module``, log one report table, and return it.

    Keys whose shapes differ from the model's (a head with another number of
    classes) are skipped and reported. ``strict=True`` raises
    :class:`CheckpointError` with the table when anything is missing,
    unexpected or mis-shaped, before any weight is changed.
    """
    from loomcv.model.wrappers import unwrap_model

    module = unwrap_model(module)
    while getattr(module, "loads_into_module", False):  # a TTA model: the checkpoint is its module's
        module = unwrap_model(module.module)
    own = module.state_dict()
    report = LoadReport(source=source, target=type(module).__name__)
    fitting = OrderedDict()
    for key, value in state_dict.items():
        if key not in own:
            report.unexpected_keys.append(key)
        elif hasattr(value, "shape") and tuple(value.shape) != tuple(own[key].shape):
            report.mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
        else:
            fitting[key] = value
            report.matched.append(key)
    # BatchNorm's step counter is absent from older checkpoints (torchvision's) and unused: not "missing"
    report.missing_keys = [k for k in own if k not in state_dict and not k.endswith(".num_batches_tracked")]
    if strict and not report.ok:
        raise CheckpointError(f"strict loading failed:\n{report.table()}")
    result = module.load_state_dict(fitting, strict=False)
    # torch's own answer (a module's load hooks may consume keys); mismatched keys stay 'mismatched'
    report.missing_keys = [k for k in result.missing_keys
                           if k not in state_dict and not k.endswith(".num_batches_tracked")]
    _log(report.table(), logging.INFO if report.ok else logging.WARNING)
    return report


def _prefix_already_taken(checkpoint: dict, prefix: str) -> bool:
    """A ``mmcls://`` checkpoint holds only its backbone already (``meta['prefix_taken']``)."""
    meta = checkpoint.get("meta")
    taken = meta.get("prefix_taken") if isinstance(meta, dict) else None
    return bool(taken) and taken.rstrip(".") == prefix.rstrip(".")


def load_checkpoint(model: nn.Module, filename: str, map_location="cpu", strict: bool = False,
                    prefix: Optional[str] = None,
                    revise_keys: Sequence[Tuple[str, str]] = DEFAULT_REVISE_KEYS,
                    weights_only: bool = True) -> dict:
    """Load a checkpoint file into ``model``; ``prefix`` loads only that sub-tree of the file.

    ``revise_keys`` are regex renames applied first. Returns the whole checkpoint dict.
    """
    checkpoint = _load_checkpoint(filename, map_location, weights_only)
    state_dict = rename_keys(get_state_dict_from(checkpoint, filename), revise_keys)
    if prefix and _prefix_already_taken(checkpoint, prefix):
        _log(f"{os.fspath(filename)}: its {prefix!r} keys were taken by the URL scheme already; "
             f"loading them as they are")
    elif prefix:
        state_dict = take_prefix(state_dict, prefix, filename)
    source = f"{os.fspath(filename)!r}" + (f" (prefix {prefix!r})" if prefix else "")
    load_state_dict(model, state_dict, strict, source)
    return checkpoint
