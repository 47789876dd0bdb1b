"""BaseModule: an ``nn.Module`` that initializes itself from ``init_cfg``.

``init_weights()`` on the top module applies each module's ``init_cfg``, then
calls its children's ``init_weights``, and applies ``Pretrained`` entries last
so that loaded weights are not overwritten. It records, for every parameter,
which initializer last changed it, and logs that record once.
"""

import copy
import logging
from typing import Iterable, List, Mapping, Optional, Union


import torch.nn as nn

from loomcv.logging import print_log
from loomcv.registry import MODELS

from .weight_init import initialize, update_init_info

InitCfg = Union[None, Mapping, List[Mapping]]


def _split_pretrained(init_cfg: InitCfg):
    cfgs = [init_cfg] if isinstance(init_cfg, Mapping) else list(init_cfg or [])
    pretrained = [c for c in cfgs if c.get("type") in ("Pretrained", "PretrainedInit")]
    others = [c for c in cfgs if c.get("type") not in ("Pretrained", "PretrainedInit")]
    return others, pretrained


class BaseModule(nn.Module):
    """Module whose weights are initialized by ``init_cfg`` (a dict or list of dicts)."""

    def __init__(self, init_cfg: InitCfg = None):
        super().__init__()
        self._is_init = False
        self.init_cfg = copy.deepcopy(init_cfg)

    @property
    def is_init(self) -> bool:
        return self._is_init

    @is_init.setter
    def is_init(self, value: bool) -> None:
        self._is_init = bool(value)

    def init_weights(self) -> None:
        """Initialize parameters from ``init_cfg``, children first, ``Pretrained`` last."""
        top = not hasattr(self, "_params_init_info")
        if top:
            record = {}
            for name, param in self.named_parameters():
                record[param] = dict(
                    name=name, tmp_mean_value=param.data.float().mean(),
                    init_info=f"not changed by init_weights of {type(self).__name__}")
            for module in self.modules():
                module._params_init_info = record
        cls_name = type(self).__name__
        if self._is_init:
            logging.getLogger("loomcv").warning(
                "init_weights of %s has been called more than once; skipped", cls_name)
        else:
            others, pretrained = _split_pretrained(self.init_cfg)
            if others:
                initialize(self, others)
            for child in self.children():
                if hasattr(child, "init_weights") and not getattr(child, "is_init", False):
                    child.init_weights()
                    update_init_info(child, f"init_weights of {type(child).__name__}")
            if pretrained:
                initialize(self, pretrained)
            self._is_init = True
        if top:
            self.init_record = [(entry["name"], entry["init_info"]) for entry in record.values()]
            self._log_init_record()
            for module in self.modules():
                del module._params_init_info

    def _log_init_record(self) -> None:
        """How each parameter was initialized: into the run's log file whatever the log level (as
        MMEngine does); without a log file, to the console at DEBUG."""
        lines = [f"{name}: {info}" for name, info in self.init_record]
        text = f"parameter initialization of {type(self).__name__}:\n  " + "\n  ".join(lines)
        from loomcv.logging import LoomLogger
        logger = LoomLogger.get_current_instance()
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 0, text, None, None)
        files = [h for h in logger.handlers if isinstance(h, logging.FileHandler)]
        for handler in files:
            handler.emit(record)
        if not files:
            print_log(text, logger="current", level=logging.DEBUG)

    def __repr__(self) -> str:
        text = super().__repr__()
        if self.init_cfg:
            text += f"\ninit_cfg={self.init_cfg}"
        return text


@MODELS.register_module()
class Sequential(BaseModule, nn.Sequential):
    """``nn.Sequential`` with ``init_cfg``."""

    def __init__(self, *modules: nn.Module, init_cfg: InitCfg = None):
        BaseModule.__init__(self, init_cfg)
        nn.Sequential.__init__(self, *modules)


class ModuleList(BaseModule, nn.ModuleList):
    """``nn.ModuleList`` with ``init_cfg``."""

    def __init__(self, modules: Optional[Iterable[nn.Module]] = None, init_cfg: InitCfg = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleList.__init__(self, modules)


class ModuleDict(BaseModule, nn.ModuleDict):
    """``nn.ModuleDict`` with ``init_cfg``."""

    def __init__(self, modules: Optional[Mapping[str, nn.Module]] = None, init_cfg: InitCfg = None):
        BaseModule.__init__(self, init_cfg)
        nn.ModuleDict.__init__(self, modules)


__all__ = ["BaseModule", "Sequential", "ModuleList", "ModuleDict"]
