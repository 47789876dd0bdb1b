"""Run an exported file and compare it with PyTorch: the check every export ends with.

:class:`ExportedModel` loads any of the formats (ONNX Runtime, TorchScript,
ExportedProgram) behind one call, numpy NCHW in, list of numpy outputs out;
:func:`check_exported` runs it and the PyTorch module on the same inputs and
reports the largest absolute and relative differences.
"""

import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .diagnose import ExportError, quiet
from .onnx import OnnxFormat
from .spec import ExportFormat, load_sidecar, sidecar_path
from .torch_export import TorchExportFormat
from .torchscript import TorchScriptFormat

#: runtime (backend) name -> format that writes what it reads
BACKENDS: Dict[str, ExportFormat] = {
    "onnxruntime": OnnxFormat(),
    "torchscript": TorchScriptFormat(),
    "torch-export": TorchExportFormat(),
}
SUFFIXES = {".onnx": "onnxruntime", ".pt2": "torch-export", ".pt": "torchscript", ".ts": "torchscript"}
DEFAULT_ATOL = 1e-4
DEFAULT_RTOL = 1e-3


def backend_for(path: str, backend: Optional[str] = None) -> str:
    """The runtime for ``path``: ``backend`` if given, else the sidecar's, else by file suffix."""
    if backend is not None:
        if backend not in BACKENDS:
            raise ValueError(f"ExportedModel: backend must be one of {sorted(BACKENDS)}, got {backend!r}")
        return backend
    if os.path.isfile(sidecar_path(path)):
        return load_sidecar(path)["backend"]
    suffix = os.path.splitext(os.fspath(path))[1]
    if suffix not in SUFFIXES:
        raise ValueError(f"ExportedModel: cannot tell the runtime of {os.fspath(path)!r} from its suffix "
                         f"{suffix!r}; give backend= one of {sorted(BACKENDS)}")
    return SUFFIXES[suffix]


class ExportedModel:
    """An exported model behind one call: ``ExportedModel('m.onnx')(x)`` -> list of numpy outputs.

    ``backend``: 'onnxruntime', 'torchscript' or 'torch-export' (default: from
    the sidecar JSON or the file suffix). ``device`` applies to the torch runtimes.
    """

    def __init__(self, path: str, backend: Optional[str] = None, device: str = "cpu"):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"ExportedModel: no exported model at {os.fspath(path)!r}")
        self.path = os.fspath(path)
        self.backend = backend_for(path, backend)
        with quiet():
            self._run = BACKENDS[self.backend].load(self.path, device)

    def __call__(self, inputs) -> List[np.ndarray]:
        if isinstance(inputs, torch.Tensor):
            inputs = inputs.detach().cpu().numpy()
        return self._run(np.asarray(inputs, dtype=np.float32))


@dataclass
class Comparison:
    """Largest differences between an export and PyTorch over the batches checked."""

    atol: float
    rtol: float
    max_abs: float = 0.0
    max_rel: float = 0.0
    failures: List[str] = field(default_factory=list)
    rows: List[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        return dict(max_abs_diff=self.max_abs, max_rel_diff=self.max_rel, atol=self.atol, rtol=self.rtol,
                    passed=self.ok)


def compare(reference: Sequence[torch.Tensor], actual: Sequence[np.ndarray], names: Sequence[str],
            result: Comparison, batch: int) -> None:
    """Add one batch's differences to ``result``: |a - r| <= atol + rtol * |r| elementwise."""
    if len(reference) != len(actual):
        result.failures.append(f"batch {batch}: the export gives {len(actual)} outputs, PyTorch {len(reference)}")
        return
    for name, ref, out in zip(names, reference, actual):
        ref = ref.detach().cpu().double().numpy()
        out = np.asarray(out, dtype=np.float64)
        if ref.shape != out.shape:
            result.failures.append(f"batch {batch}, output {name!r}: shape {out.shape} instead of {ref.shape}")
            continue
        diff = np.abs(out - ref)
        big = np.abs(ref) >= result.atol  # relative differences of near-zero values say nothing
        max_abs = float(diff.max()) if diff.size else 0.0
        max_rel = float((diff[big] / np.abs(ref[big])).max()) if big.any() else 0.0
        result.max_abs, result.max_rel = max(result.max_abs, max_abs), max(result.max_rel, max_rel)
        result.rows.append(f"batch {batch}, output {name!r}: max abs diff {max_abs:.3g}, max rel diff {max_rel:.3g}")
        bad = diff > result.atol + result.rtol * np.abs(ref)
        if bad.any():
            where = np.unravel_index(int(np.argmax(np.where(bad, diff, -1))), diff.shape)
            result.failures.append(
                f"batch {batch}, output {name!r}: {int(bad.sum())} of {bad.size} values differ by more than "
                f"atol={result.atol:g} + rtol={result.rtol:g} x |PyTorch| (worst at {tuple(int(i) for i in where)}: "
                f"{out[where]:.6g} vs {ref[where]:.6g})")


def sample_input(batch: int, shape: Sequence[int], seed: int = 0) -> torch.Tensor:
    """A normalized input (standard normal, like data after mean/std) of ``batch`` x shape."""
    generator = torch.Generator().manual_seed(seed + batch)
    return torch.randn((batch, *shape), generator=generator)


def check_exported(module: nn.Module, exported: ExportedModel, shape: Sequence[int], batches: Sequence[int],
                   output_names: Sequence[str], atol: float = DEFAULT_ATOL, rtol: float = DEFAULT_RTOL) -> Comparison:
    """Run ``module`` (PyTorch) and ``exported`` on sample inputs of each batch size; compare the outputs."""
    result = Comparison(atol=float(atol), rtol=float(rtol))
    for batch in batches:
        x = sample_input(batch, shape)
        with torch.no_grad():
            ref = module(x)
        ref = list(ref) if isinstance(ref, (tuple, list)) else [ref]
        try:
            out = exported(x.numpy())
        except Exception as err:  # noqa: BLE001 - a runtime refusing the input is a failed check
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            result.failures.append(f"batch {batch}: {exported.backend} could not run the export "
                                   f"({type(err).__name__}: {first[:300]})")
            continue
        compare(ref, out, output_names, result, batch)
    return result


def raise_if_failed(result: Comparison, what: str, traced_batch: int, batches: Sequence[int]) -> None:
    """An ExportError listing the failed comparisons, with a hint when only other batch sizes fail."""
    if result.ok:
        return
    hint = ""
    failed = {b for b in batches if any(f.startswith(f"batch {b}") for f in result.failures)}
    if failed and traced_batch not in failed and len(batches) > 1:
        hint = (f"\n  the export matches at the traced batch size {traced_batch} only: the model's code fixes the "
                "batch size (tracing records a Python loop or int over x.shape[0] as a constant); use --format "
                "torch-export, or export without --dynamic-batch")
    raise ExportError(f"{what} does not match PyTorch:\n  " + "\n  ".join(result.failures) + hint)
