"""Export models to ONNX, TorchScript and torch.export, and check each export against PyTorch.

``export_model(model, 'onnx', 'm.onnx', (C, H, W), cfg=cfg)`` writes the
model file and ``m.onnx.json`` (preprocessing, class names, the check's
differences); :class:`ExportedModel` runs any export behind one call. What a
model exports is its :class:`ExportSpec` (see :mod:`loomcv.export.spec` for how
models and toolboxes provide one). The ``loomcv export`` command wraps this.
"""

from .diagnose import ExportError
from .exporter import FORMATS, ExportResult, export_model, get_format
from .onnx import require_onnx
from .runtime import BACKENDS, DEFAULT_ATOL, DEFAULT_RTOL, Comparison, ExportedModel, check_exported
from .spec import (ExportFormat, ExportSpec, TensorMode, get_export_spec, load_sidecar, register_export_spec,
                   sidecar_path)

__all__ = [
    "ExportError", "FORMATS", "ExportResult", "export_model", "get_format", "require_onnx", "BACKENDS",
    "DEFAULT_ATOL", "DEFAULT_RTOL", "Comparison", "ExportedModel", "check_exported", "ExportFormat", "ExportSpec",
    "TensorMode", "get_export_spec", "load_sidecar", "register_export_spec", "sidecar_path",
]
