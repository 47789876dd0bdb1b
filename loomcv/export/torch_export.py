"""torch.export: an ExportedProgram saved as ``.pt2``, run through ``.module()``.

The program is captured without running Python control flow on tensor values
(such a branch is an error naming the line); with ``--dynamic-batch`` the batch
dimension is a symbolic size, so the same file serves any batch.
"""

from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .spec import ExportFormat, batch_dims
from .torchscript import _numpy_runner


class TorchExportFormat(ExportFormat):
    """``.pt2`` archives of ``torch.export.export``."""

    name = "torch-export"
    suffix = ".pt2"
    backend = "torch-export"

    def export(self, module: nn.Module, example, out: str, *, output_names: Sequence[str], dynamic_batch: bool,
               opset: Optional[int] = None) -> dict:
        args = example if isinstance(example, tuple) else (example,)
        shapes = batch_dims(args) if dynamic_batch else None
        program = torch.export.export(module, args, dynamic_shapes=shapes)
        torch.export.save(program, out)
        return {}

    def load(self, path: str, device: str = "cpu") -> Callable[..., List[np.ndarray]]:
        program = torch.export.load(str(path))
        module = program.module()
        if device != "cpu":
            module = module.to(device)
        return _numpy_runner(module, device)
