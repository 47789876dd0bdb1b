"""ONNX: export with torch.onnx, run with ONNX Runtime.

Two exporters: ``'torchscript'`` (default), torch's tracing exporter, which
needs only the ``onnx`` extra and takes a fraction of a second; and
``'dynamo'``, torch's torch.export-based exporter (torch's own default since
2.9), which also needs the ``onnxscript`` package and supports opset 18 and
later only.
"""

import importlib
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .spec import INPUT_NAME, ExportFormat, batch_dims

EXTRA_HINT = "pip install 'loomcv[onnx]'"
EXPORTERS = ("torchscript", "dynamo")
DEFAULT_OPSET = {"torchscript": 17, "dynamo": 18}


def require_onnx(purpose: str = "exporting to ONNX and checking the result") -> None:
    """Raise ImportError naming the ``onnx`` extra when onnx or onnxruntime is missing."""
    for package in ("onnx", "onnxruntime"):
        try:
            importlib.import_module(package)
        except ImportError as err:
            raise ImportError(f"{purpose} needs the `{package}` package of the optional extra `onnx`: "
                              f"{EXTRA_HINT}") from err


class OnnxFormat(ExportFormat):
    """``.onnx`` files, checked and run with ONNX Runtime on the CPU."""

    name = "onnx"
    suffix = ".onnx"
    backend = "onnxruntime"

    def __init__(self, exporter: str = "torchscript"):
        if exporter not in EXPORTERS:
            raise ValueError(f"OnnxFormat: exporter must be one of {EXPORTERS}, got {exporter!r}")
        self.exporter = exporter
        self.traced = exporter == "torchscript"

    def require(self) -> None:
        require_onnx()
        if self.exporter == "dynamo":
            try:
                importlib.import_module("onnxscript")
            except ImportError as err:
                raise ImportError("the dynamo ONNX exporter needs the `onnxscript` package: pip install "
                                  "onnxscript (or use the default exporter, --onnx-exporter torchscript)") from err

    def export(self, module: nn.Module, example, out: str, *, output_names: Sequence[str], dynamic_batch: bool,
               opset: Optional[int] = None) -> dict:
        opset = opset or DEFAULT_OPSET[self.exporter]
        args = example if isinstance(example, tuple) else (example,)
        if self.exporter == "torchscript":
            single = len(args) == 1 and isinstance(args[0], torch.Tensor)  # dynamic axes are named per input
            axes = ({name: {0: "batch"} for name in (INPUT_NAME, *output_names)}
                    if dynamic_batch and single else None)
            torch.onnx.export(module, args, out, dynamo=False, opset_version=opset, input_names=[INPUT_NAME],
                              output_names=list(output_names), dynamic_axes=axes, do_constant_folding=True)
        else:
            shapes = batch_dims(args) if dynamic_batch else None
            program = torch.onnx.export(module, args, dynamo=True, opset_version=opset, input_names=[INPUT_NAME],
                                        output_names=list(output_names), dynamic_shapes=shapes, verbose=False)
            program.save(out, external_data=False)
        import onnx
        model = onnx.load(out)
        onnx.checker.check_model(model)
        used = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=opset)
        return {"opset": int(used), "exporter": self.exporter}

    def load(self, path: str, device: str = "cpu") -> Callable[..., List[np.ndarray]]:
        require_onnx("running an ONNX model")
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.log_severity_level = 4  # fatal only: run errors are raised and reported by the check
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name

        def run(inputs: np.ndarray) -> List[np.ndarray]:
            return session.run(None, {name: np.ascontiguousarray(inputs, dtype=np.float32)})

        return run
