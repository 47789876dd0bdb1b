"""Registries: build components from ``dict(type='Name', ...)`` configs.

See docs/registry.md. Nothing here imports torch.
"""

from .build import build_from_cfg, build_or_accept, check_arguments
from .build_functions import build_model_from_cfg, build_runner_from_cfg, build_scheduler_from_cfg
from .default_scope import DefaultScope, default_scope, init_default_scope, resolve_scope
from .imports import import_custom_modules, import_modules_from_strings
from .inventory import count_registered_modules, traverse_registry_tree
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
    "build_model_from_cfg", "build_runner_from_cfg", "build_scheduler_from_cfg", "count_registered_modules",
    "traverse_registry_tree", "STRATEGIES",
]


def __getattr__(name: str):
    # MMEngine keeps STRATEGIES among its root registries; here it lives with the strategies (it
    # needs torch, which this package does not import), so it is looked up on first use
    if name == "STRATEGIES":
        from loomcv.runner.strategies import STRATEGIES
        return STRATEGIES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
