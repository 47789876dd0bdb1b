"""TorchScript: trace the model with torch.jit.trace, run it with torch.jit.load.

torch marks torch.jit as deprecated in favour of torch.export; it is kept here
because C++ (libtorch) and mobile runtimes still load TorchScript files. A
trace records one path through the code: a Python ``if`` on a tensor value is
refused (it would be frozen as a constant), and ``--dynamic-batch`` checks a
second batch size to prove the batch dimension was not frozen too.
"""

from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from .spec import ExportFormat


class TorchScriptFormat(ExportFormat):
    """``.pt`` TorchScript archives from tracing."""

    name = "torchscript"
    suffix = ".pt"
    backend = "torchscript"
    traced = True

    def export(self, module: nn.Module, example, out: str, *, output_names: Sequence[str], dynamic_batch: bool,
               opset: Optional[int] = None) -> dict:
        args = example if isinstance(example, tuple) else (example,)
        with torch.no_grad():
            traced = torch.jit.trace(module, args, check_trace=False)
        traced.save(out)
        return {}

    def load(self, path: str, device: str = "cpu") -> Callable[..., List[np.ndarray]]:
        module = torch.jit.load(str(path), map_location=device).eval()
        return _numpy_runner(module, device)


def _numpy_runner(module, device: str) -> Callable[..., List[np.ndarray]]:
    """numpy NCHW in, list of numpy outputs out, for a torch callable."""

    def run(inputs: np.ndarray) -> List[np.ndarray]:
        with torch.no_grad():
            out = module(torch.as_tensor(np.ascontiguousarray(inputs, dtype=np.float32), device=device))
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.detach().cpu().numpy() for o in outs]

    return run
