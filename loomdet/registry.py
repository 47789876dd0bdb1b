"""loomdet's registries: children of loomcv's root ones, scope ``loomdet``.

Configs with ``default_scope = 'loomdet'`` (or the alias ``mmdet``, declared
in :mod:`loomdet.toolbox`) find detection components here first, then
loomcv's; a type loomdet does not have, such as ``ResNet``, is looked up in
the other toolboxes' registries by the engine's scope search (see
:mod:`loomdet.models`). ``locations`` are imported on the first look-up.
"""

from loomcv.registry import Registry
from loomcv.registry import root

RUNNERS = Registry("runner", parent=root.RUNNERS, scope="loomdet")
RUNNER_CONSTRUCTORS = Registry("runner constructor", parent=root.RUNNER_CONSTRUCTORS, scope="loomdet")
LOOPS = Registry("loop", parent=root.LOOPS, scope="loomdet")
HOOKS = Registry("hook", parent=root.HOOKS, scope="loomdet", locations=["loomdet.engine"])
LOG_PROCESSORS = Registry("log processor", parent=root.LOG_PROCESSORS, scope="loomdet")

DATASETS = Registry("dataset", parent=root.DATASETS, scope="loomdet", locations=["loomdet.datasets"])
DATA_SAMPLERS = Registry("data sampler", parent=root.DATA_SAMPLERS, scope="loomdet")
TRANSFORMS = Registry("transform", parent=root.TRANSFORMS, scope="loomdet", locations=["loomdet.datasets.transforms"])

# detectors, backbones, necks, heads, losses
MODELS = Registry("model", parent=root.MODELS, scope="loomdet", locations=["loomdet.models"])
MODEL_WRAPPERS = Registry("model wrapper", parent=root.MODEL_WRAPPERS, scope="loomdet")
WEIGHT_INITIALIZERS = Registry("weight initializer", parent=root.WEIGHT_INITIALIZERS, scope="loomdet")

OPTIMIZERS = Registry("optimizer", parent=root.OPTIMIZERS, scope="loomdet")
OPTIM_WRAPPERS = Registry("optim wrapper", parent=root.OPTIM_WRAPPERS, scope="loomdet")
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optim wrapper constructor", parent=root.OPTIM_WRAPPER_CONSTRUCTORS,
                                      scope="loomdet")
PARAM_SCHEDULERS = Registry("parameter scheduler", parent=root.PARAM_SCHEDULERS, scope="loomdet")

METRICS = Registry("metric", parent=root.METRICS, scope="loomdet", locations=["loomdet.evaluation"])
EVALUATOR = Registry("evaluator", parent=root.EVALUATOR, scope="loomdet")

VISUALIZERS = Registry("visualizer", parent=root.VISUALIZERS, scope="loomdet", locations=["loomdet.visualization"])
VISBACKENDS = Registry("vis backend", parent=root.VISBACKENDS, scope="loomdet")

INFERENCERS = Registry("inferencer", parent=root.INFERENCERS, scope="loomdet")
FUNCTIONS = Registry("function", parent=root.FUNCTIONS, scope="loomdet")
# anchor generators, box coders, assigners, samplers, IoU calculators
TASK_UTILS = Registry("task util", parent=root.TASK_UTILS, scope="loomdet", locations=["loomdet.models.task_modules"])

__all__ = list(root.ROOT_REGISTRIES)
