"""MMEngine's public checkpoint path (``mmengine.runner.checkpoint``), served by :mod:`loomcv.checkpoint`.

``from loomcv.runner.checkpoint import load_checkpoint, save_checkpoint`` keeps
working for code written against MMEngine; new code imports ``loomcv.checkpoint``.
"""

from loomcv.checkpoint import (DEFAULT_REVISE_KEYS, LAST_CHECKPOINT, SAFETENSORS_META_KEY, LoadReport,
                               _load_checkpoint, check_plain, find_latest_checkpoint, get_state_dict,
                               get_state_dict_from, load_checkpoint, load_state_dict, non_plain_values,
                               rename_keys, save_checkpoint, save_safetensors, take_prefix, weights_to_cpu,
                               write_latest_marker)
from loomcv.checkpoint.loader import (CheckpointLoader, get_deprecated_model_names, get_external_models,
                                     get_mmcls_models, get_torchvision_models)


__all__ = ["CheckpointLoader", "get_torchvision_models", "get_external_models", "get_mmcls_models",
           "get_deprecated_model_names",
           "load_checkpoint", "save_checkpoint", "_load_checkpoint", "load_state_dict", "get_state_dict",
           "weights_to_cpu", "find_latest_checkpoint", "write_latest_marker", "save_safetensors",
           "get_state_dict_from", "rename_keys", "take_prefix", "LoadReport", "check_plain",
           "non_plain_values", "LAST_CHECKPOINT", "SAFETENSORS_META_KEY", "DEFAULT_REVISE_KEYS"]
