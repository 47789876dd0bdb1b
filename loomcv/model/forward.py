"""run_forward: how a batch that the data preprocessor returned is handed to ``forward``.

BaseModel's step methods and the model wrappers (DDP, FSDP) both call it, so
it lives below both of them.
"""

from collections.abc import Mapping  # typing.Mapping's isinstance costs three times as much, every step
from typing import Any, Union

import torch.nn as nn


def run_forward(model: nn.Module, data: Union[dict, tuple, list], mode: str) -> Any:
    """Call ``model`` (or its DDP wrapper) on preprocessed data, unpacking dicts and sequences."""
    if isinstance(data, Mapping):
        return model(**data, mode=mode)
    if isinstance(data, (list, tuple)):
        return model(*data, mode=mode)
    raise TypeError(f"the data preprocessor output must be a dict, tuple or list, got "
                    f"{type(data).__name__}")
