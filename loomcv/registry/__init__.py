"""Registries: build components from ``dict(type='Name', ...)`` configs.

See docs/registry.md. Nothing here imports torch.
"""

from .build import build_from_cfg, build_or_accept, check_arguments
from .default_scope import DefaultScope, default_scope, init_default_scope, resolve_scope
from .imports import import_custom_modules, import_modules_from_strings
from .registry import Registry, split_scope_key
from .toolbox import Toolbox, find_toolbox, register_toolbox, scope_aliases, toolboxes
from .root import (DATA_SAMPLERS, DATASETS, EVALUATOR, FUNCTIONS, HOOKS, INFERENCERS, LOG_PROCESSORS,
                   LOOPS, METRICS, MODEL_WRAPPERS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                   OPTIMIZERS, PARAM_SCHEDULERS, ROOT_REGISTRIES, RUNNER_CONSTRUCTORS, RUNNERS,
                   TASK_UTILS, TRANSFORMS, VISBACKENDS, VISUALIZERS, WEIGHT_INITIALIZERS)

__all__ = [
    "Registry", "build_from_cfg", "build_or_accept", "check_arguments", "split_scope_key", "DefaultScope",
    "default_scope", "init_default_scope", "resolve_scope", "Toolbox", "toolboxes",
    "find_toolbox", "register_toolbox", "scope_aliases",
    "import_custom_modules", "import_modules_from_strings", "ROOT_REGISTRIES", *ROOT_REGISTRIES,
]
