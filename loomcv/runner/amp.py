"""``autocast``: MMEngine's device-aware mixed-precision context (``mmengine.runner.autocast``).

``torch.autocast`` needs a device type and picks float16 on CUDA; this one defaults the
device to the one training uses (CUDA when present, else CPU) and the dtype to
bfloat16 on the CPU, the only half type CPU autocast supports.
"""

from contextlib import contextmanager
from typing import Iterator, Optional

import torch


@contextmanager
def autocast(device_type: Optional[str] = None, dtype: Optional[torch.dtype] = None, enabled: bool = True,
             cache_enabled: Optional[bool] = None) -> Iterator[None]:
    """Run the block under mixed precision on ``device_type`` ('cuda' or 'cpu'; default: the
    training device) in ``dtype`` (default: float16 on CUDA, bfloat16 on CPU)."""
    if device_type is None:
        device_type = "cuda" if torch.cuda.is_available() else "cpu"
    if device_type == "cuda":
        if dtype is None:
            dtype = torch.float16
        if dtype == torch.bfloat16 and not torch.cuda.is_bf16_supported():
            raise RuntimeError("autocast: this CUDA device does not support bfloat16; use dtype=torch.float16")
    elif device_type == "cpu":
        dtype = torch.bfloat16 if dtype is None else dtype
        if dtype != torch.bfloat16:
            raise ValueError(f"autocast: on the CPU only torch.bfloat16 is supported, got {dtype}")
    elif not enabled:
        yield
        return
    else:
        raise ValueError(f"autocast: device_type must be 'cuda' or 'cpu', got {device_type!r}")
    if cache_enabled is None:
        cache_enabled = torch.is_autocast_cache_enabled()
    with torch.autocast(device_type=device_type, dtype=dtype, enabled=enabled, cache_enabled=cache_enabled):
        yield
