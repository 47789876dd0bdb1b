"""Checkpoints: the file format and its IO, loading weights with a report, and the training payload.

``io``: atomic ``.pth``/``.safetensors`` writing, reading local files and
URLs with ``weights_only=True``, the ``last_checkpoint`` marker. ``report``:
renaming keys and loading what fits into a model, with one
:class:`LoadReport`. ``payload``: the dict a Runner saves (MMEngine's layout)
and restoring training state from it.
"""

from .io import (LAST_CHECKPOINT, SAFETENSORS_META_KEY, _load_checkpoint, check_plain, find_latest_checkpoint,
                 is_sharded_checkpoint, non_plain_values, save_checkpoint, save_safetensors, write_latest_marker)
from .payload import (build_checkpoint, default_position, get_state_dict, load_scheduler_states,
                      restore_checkpoint, scheduler_states, weights_to_cpu)
from .report import (DEFAULT_REVISE_KEYS, LoadReport, get_state_dict_from, load_checkpoint, load_state_dict,
                     rename_keys, summarise_keys, take_prefix)

__all__ = [
    "is_sharded_checkpoint",
    "LAST_CHECKPOINT", "SAFETENSORS_META_KEY", "_load_checkpoint", "check_plain", "find_latest_checkpoint",
    "non_plain_values", "save_checkpoint", "save_safetensors", "write_latest_marker", "build_checkpoint",
    "default_position", "get_state_dict", "load_scheduler_states", "restore_checkpoint", "scheduler_states",
    "weights_to_cpu", "DEFAULT_REVISE_KEYS", "LoadReport", "get_state_dict_from", "load_checkpoint",
    "load_state_dict", "rename_keys", "summarise_keys", "take_prefix",
]
