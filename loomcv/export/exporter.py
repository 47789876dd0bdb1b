"""export_model: export, write the sidecar JSON, run the export and compare it with PyTorch."""

import os
import tempfile
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .diagnose import ExportError, bisect_modules, describe, locate_in_traceback, quiet
from .onnx import DEFAULT_OPSET, OnnxFormat
from .runtime import DEFAULT_ATOL, DEFAULT_RTOL, Comparison, ExportedModel, check_exported, raise_if_failed
from .spec import (INPUT_NAME, SIDECAR_VERSION, ExportFormat, ExportSpec, get_export_spec, plain, preprocess_info,
                   sidecar_path, write_sidecar)
from .torch_export import TorchExportFormat
from .torchscript import TorchScriptFormat

FORMATS = ("onnx", "torchscript", "torch-export")


def get_format(name: str, onnx_exporter: str = "torchscript") -> ExportFormat:
    """The :class:`ExportFormat` called ``name`` ('onnx', 'torchscript', 'torch-export')."""
    if name == "onnx":
        return OnnxFormat(onnx_exporter)
    if name == "torchscript":
        return TorchScriptFormat()
    if name == "torch-export":
        return TorchExportFormat()
    raise ValueError(f"export: format must be one of {FORMATS}, got {name!r}")


@dataclass
class ExportResult:
    """Where the export went and how it compared with PyTorch."""

    path: str
    sidecar: str
    format: str
    input_shape: Tuple[int, ...]
    batches: List[int]
    comparison: Comparison
    info: dict


def _export_or_explain(fmt: ExportFormat, module: nn.Module, example: torch.Tensor, out: str, *,
                       output_names: Sequence[str], dynamic_batch: bool, opset: Optional[int], what: str,
                       verbose: bool) -> dict:
    """Run the exporter; on failure, an ExportError naming the module and the operation."""
    try:
        with quiet(verbose, traced=fmt.traced):
            return fmt.export(module, example, out, output_names=output_names, dynamic_batch=dynamic_batch,
                              opset=opset)
    except ImportError:
        raise
    except Exception as err:  # noqa: BLE001 - every exporter failure gets the same diagnosis
        found = locate_in_traceback(module, err)
        if found is not None:
            name, culprit, where = found
            raise ExportError(describe(module, name, culprit, where, err, what)) from err

        def try_alone(child: nn.Module, args: tuple) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                with quiet(verbose, traced=fmt.traced):
                    fmt.export(child, args, os.path.join(tmp, "part" + fmt.suffix),
                               output_names=_output_names(child, args), dynamic_batch=dynamic_batch, opset=opset)

        hit = bisect_modules(module, example, try_alone, original=err)
        if hit is not None:
            name, culprit, child_err = hit
            raise ExportError(describe(module, name, culprit, "", child_err, what)) from err
        raise ExportError(describe(module, "", module, "", err, what)) from err


def _output_names(module: nn.Module, args: tuple) -> List[str]:
    """Names for the outputs of a submodule exported on its own (the ONNX exporter wants one per output)."""
    try:
        with torch.no_grad():
            out = module(*args)
    except Exception:  # noqa: BLE001 - the exporter reports the real failure
        return ["output"]
    count = len(out) if isinstance(out, (tuple, list)) else 1
    return [f"output_{i}" for i in range(count)] if count > 1 else ["output"]


def export_model(model: nn.Module, format: str, out: str, input_shape: Sequence[int], *, batch: int = 1,
                 dynamic_batch: bool = False, opset: Optional[int] = None, atol: float = DEFAULT_ATOL,
                 rtol: float = DEFAULT_RTOL, cfg=None, dataset_meta: Optional[dict] = None,
                 spec: Optional[ExportSpec] = None, onnx_exporter: str = "torchscript", check: bool = True,
                 extra_meta: Optional[dict] = None, verbose: bool = False) -> ExportResult:
    """Export ``model`` (normalized ``(C, H, W)`` input) to ``out``, write ``<out>.json``, check it.

    Raises ExportError when the exporter fails (naming the module and the
    operation) or when the export's outputs differ from PyTorch beyond
    ``atol + rtol * |PyTorch|`` at the sample batch, and with
    ``dynamic_batch`` at a second batch size.
    """
    fmt = get_format(format, onnx_exporter)
    fmt.require()
    if len(input_shape) != 3 or not all(isinstance(s, int) and s > 0 for s in input_shape):
        raise ValueError(f"export_model: input_shape must be (C, H, W) positive ints, got {tuple(input_shape)}")
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"export_model: batch must be an int >= 1, got {batch!r}")
    model = model.eval()
    spec = spec if spec is not None else get_export_spec(model)
    module = spec.module.eval()
    # a batch of 1 would be taken for a constant by torch.export's shape analysis
    traced_batch = max(batch, 2) if dynamic_batch else batch
    batches = sorted({batch, traced_batch, traced_batch + 1}) if dynamic_batch else [batch]
    example = torch.randn(traced_batch, *input_shape, generator=torch.Generator().manual_seed(0))
    if isinstance(fmt, OnnxFormat):
        opset = opset or DEFAULT_OPSET[fmt.exporter]
    what = f"cannot export {type(model).__name__} to {fmt.name}" + (f" (opset {opset})" if opset else "")
    out = os.fspath(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    info = _export_or_explain(fmt, module, example, out, output_names=spec.output_names,
                              dynamic_batch=dynamic_batch, opset=opset, what=what, verbose=verbose)
    comparison = Comparison(atol=float(atol), rtol=float(rtol))
    if check:
        comparison = check_exported(module, ExportedModel(out, fmt.backend), input_shape, batches,
                                    spec.output_names, atol=atol, rtol=rtol)
    sidecar = dict(
        sidecar_version=SIDECAR_VERSION, format=fmt.name, backend=fmt.backend, file=os.path.basename(out),
        model_type=type(model).__name__, **spec.meta,
        input=dict(name=INPUT_NAME, layout="NCHW", dtype="float32", dynamic_batch=bool(dynamic_batch),
                   shape=["batch" if dynamic_batch else traced_batch, *input_shape]),
        outputs=list(spec.output_names), postprocess=spec.postprocess,
        classes=plain((dataset_meta or {}).get("classes")), **info, **(extra_meta or {}))
    if cfg is not None:
        sidecar["preprocess"] = preprocess_info(cfg, model, tuple(input_shape[1:]))
        # what rebuilds the parts that run outside the graph (a detector's decoding head)
        sidecar["model_cfg"] = plain(cfg.get("model"))
    if check:
        sidecar["check"] = dict(comparison.as_dict(), batches=batches)
    written = write_sidecar(sidecar_path(out), sidecar)
    if check:
        raise_if_failed(comparison, f"the {fmt.name} export of {type(model).__name__} ({out})",
                        traced_batch, batches)
    return ExportResult(out, written, fmt.name, (traced_batch, *input_shape), batches, comparison, info)
