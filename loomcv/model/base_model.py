"""BaseModel: the interface between the loops, the data and the optimizer.

Subclasses implement ``forward(inputs, data_samples, mode)`` for the modes
'loss' (a dict of losses), 'predict' (data samples with predictions) and
'tensor' (raw outputs). ``train_step`` runs the preprocessor, the loss
forward and one optimizer update; nothing here synchronizes the device.
"""

from collections import OrderedDict
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import torch
import torch.nn as nn

from loomcv.registry import MODELS, build_or_accept

from .base_module import BaseModule
from .data_preprocessor import BaseDataPreprocessor
from .forward import run_forward


class BaseModel(BaseModule):
    """A model with a ``data_preprocessor`` (a config dict or a module) and step methods."""

    def __init__(self, data_preprocessor: Union[None, Mapping, nn.Module] = None, init_cfg=None):
        super().__init__(init_cfg)
        if data_preprocessor is None:
            data_preprocessor = dict(type="BaseDataPreprocessor")
        self.data_preprocessor = build_or_accept(data_preprocessor, MODELS, nn.Module, "data_preprocessor", self)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None,
                mode: str = "tensor") -> Union[Dict[str, torch.Tensor], list, Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(inputs, "
                                  "data_samples, mode) for modes 'loss', 'predict' and 'tensor'")

    def train_step(self, data: Union[dict, tuple, list], optim_wrapper) -> Dict[str, torch.Tensor]:
        """Preprocess, compute losses, update parameters; return the log variables (tensors)."""
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = run_forward(self, data, "loss")
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        return log_vars

    def val_step(self, data: Union[dict, tuple, list]) -> list:
        """Predictions (data samples) for a validation batch."""
        return run_forward(self, self.data_preprocessor(data, False), "predict")

    def test_step(self, data: Union[dict, tuple, list]) -> list:
        """Predictions (data samples) for a test batch."""
        return run_forward(self, self.data_preprocessor(data, False), "predict")

    def _run_forward(self, data: Union[dict, tuple, list], mode: str) -> Any:
        """``self(**data, mode=mode)`` (or ``self(*data, mode=mode)``): MMEngine's helper that custom
        ``train_step``/``val_step`` overrides call."""
        return run_forward(self, data, mode)

    def parse_losses(self, losses: Mapping[str, Any]) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Sum every entry whose key contains 'loss'; return (loss, log_vars).

        A value may be a tensor (its mean is used) or a list of tensors (the sum
        of their means). ``log_vars`` holds detached tensors, 'loss' first.
        """
        items: List[Tuple[str, torch.Tensor]] = []
        for name, value in losses.items():
            if isinstance(value, torch.Tensor):
                # a scalar needs no mean: skipping it keeps a node out of the backward graph
                items.append((name, value if value.dim() == 0 else value.mean()))
            elif isinstance(value, (list, tuple)) and value and all(
                    isinstance(v, torch.Tensor) for v in value):
                items.append((name, sum(v.mean() for v in value)))
            else:
                raise TypeError(f"{type(self).__name__}.forward(mode='loss') returned {name!r} = "
                                f"{type(value).__name__}; each value must be a tensor or a list of "
                                "tensors")
        loss_terms = [v for k, v in items if "loss" in k]
        if not loss_terms:
            raise ValueError(f"{type(self).__name__}: none of the keys {list(losses)} contains "
                             "'loss', so there is nothing to optimize")
        loss = loss_terms[0] if len(loss_terms) == 1 else sum(loss_terms)
        log_vars = OrderedDict([("loss", loss.detach())])
        log_vars.update((k, v.detach()) for k, v in items)
        return loss, log_vars


__all__ = ["BaseModel", "BaseDataPreprocessor", "run_forward"]


def merge_dict(*args: dict) -> dict:
    """One dict with the items of all of ``args`` (later ones win), e.g. the loss dicts of several heads."""
    merged: dict = {}
    for item in args:
        if not isinstance(item, dict):
            raise TypeError(f"merge_dict takes dicts, got {type(item).__name__}")
        merged.update(item)
    return merged
