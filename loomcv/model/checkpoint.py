"""Deprecated path: checkpoint loading moved to :mod:`loomcv.checkpoint`.

Importing this module still works (the old names point at the new
functions) but warns, so that code moves to ``loomcv.checkpoint`` (or
MMEngine's public path ``loomcv.runner.checkpoint``).
"""

import warnings

from loomcv.checkpoint.io import SAFETENSORS_META_KEY, _first_line, _load_checkpoint, _load_safetensors
from loomcv.checkpoint.report import (DEFAULT_REVISE_KEYS, LoadReport, _log, get_state_dict_from, load_checkpoint,
                                      load_state_dict, rename_keys, summarise_keys, take_prefix)

warnings.warn("loomcv.model.checkpoint is deprecated; import from loomcv.checkpoint "
              "(or loomcv.runner.checkpoint) instead", DeprecationWarning, stacklevel=2)

__all__ = ["SAFETENSORS_META_KEY", "DEFAULT_REVISE_KEYS", "LoadReport", "load_checkpoint", "load_state_dict",
           "get_state_dict_from", "rename_keys", "summarise_keys", "take_prefix", "_load_checkpoint",
           "_load_safetensors", "_first_line", "_log"]
