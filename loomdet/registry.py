"""loomdet's registries: children of loomcv's root ones, scope ``loomdet``.

Configs with ``default_scope = 'loomdet'`` find detection components here
first, then loomcv's. ``locations`` are imported on the first lookup, so a
config can name ``RetinaHead`` or ``MaxIoUAssigner`` without importing
anything by hand; a location whose package does not exist yet is skipped.
"""

from loomcv.registry import (
    DATA_SAMPLERS as ROOT_DATA_SAMPLERS,
    DATASETS as ROOT_DATASETS,
    EVALUATOR as ROOT_EVALUATOR,
    FUNCTIONS as ROOT_FUNCTIONS,
    HOOKS as ROOT_HOOKS,
    INFERENCERS as ROOT_INFERENCERS,
    LOG_PROCESSORS as ROOT_LOG_PROCESSORS,
    LOOPS as ROOT_LOOPS,
    METRICS as ROOT_METRICS,
    MODEL_WRAPPERS as ROOT_MODEL_WRAPPERS,
    MODELS as ROOT_MODELS,
    OPTIM_WRAPPER_CONSTRUCTORS as ROOT_OPTIM_WRAPPER_CONSTRUCTORS,
    OPTIM_WRAPPERS as ROOT_OPTIM_WRAPPERS,
    OPTIMIZERS as ROOT_OPTIMIZERS,
    PARAM_SCHEDULERS as ROOT_PARAM_SCHEDULERS,
    RUNNER_CONSTRUCTORS as ROOT_RUNNER_CONSTRUCTORS,
    RUNNERS as ROOT_RUNNERS,
    TASK_UTILS as ROOT_TASK_UTILS,
    TRANSFORMS as ROOT_TRANSFORMS,
    VISBACKENDS as ROOT_VISBACKENDS,
    VISUALIZERS as ROOT_VISUALIZERS,
    WEIGHT_INITIALIZERS as ROOT_WEIGHT_INITIALIZERS,
    Registry,
)

# runner and its parts
RUNNERS = Registry("runner", parent=ROOT_RUNNERS, scope="loomdet", locations=["loomdet.engine"])
RUNNER_CONSTRUCTORS = Registry("runner constructor", parent=ROOT_RUNNER_CONSTRUCTORS, scope="loomdet",
                               locations=["loomdet.engine"])
LOOPS = Registry("loop", parent=ROOT_LOOPS, scope="loomdet", locations=["loomdet.engine"])
HOOKS = Registry("hook", parent=ROOT_HOOKS, scope="loomdet", locations=["loomdet.engine"])
LOG_PROCESSORS = Registry("log processor", parent=ROOT_LOG_PROCESSORS, scope="loomdet",
                          locations=["loomdet.engine"])

# data
DATASETS = Registry("dataset", parent=ROOT_DATASETS, scope="loomdet", locations=["loomdet.datasets"])
DATA_SAMPLERS = Registry("data sampler", parent=ROOT_DATA_SAMPLERS, scope="loomdet",
                         locations=["loomdet.datasets"])
TRANSFORMS = Registry("transform", parent=ROOT_TRANSFORMS, scope="loomdet",
                      locations=["loomdet.datasets.transforms"])
FUNCTIONS = Registry("function", parent=ROOT_FUNCTIONS, scope="loomdet", locations=["loomdet.datasets"])

# models: detectors, necks, heads, losses (MODELS); anchor generators, box
# coders, assigners, samplers, IoU calculators (TASK_UTILS)
MODELS = Registry("model", parent=ROOT_MODELS, scope="loomdet", locations=["loomdet.models"])
MODEL_WRAPPERS = Registry("model wrapper", parent=ROOT_MODEL_WRAPPERS, scope="loomdet",
                          locations=["loomdet.models"])
WEIGHT_INITIALIZERS = Registry("weight initializer", parent=ROOT_WEIGHT_INITIALIZERS, scope="loomdet",
                               locations=["loomdet.models"])
TASK_UTILS = Registry("task util", parent=ROOT_TASK_UTILS, scope="loomdet",
                      locations=["loomdet.models.task_modules"])

# optimization
OPTIMIZERS = Registry("optimizer", parent=ROOT_OPTIMIZERS, scope="loomdet", locations=["loomdet.engine"])
OPTIM_WRAPPERS = Registry("optim wrapper", parent=ROOT_OPTIM_WRAPPERS, scope="loomdet",
                          locations=["loomdet.engine"])
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optim wrapper constructor", parent=ROOT_OPTIM_WRAPPER_CONSTRUCTORS,
                                      scope="loomdet", locations=["loomdet.engine"])
PARAM_SCHEDULERS = Registry("parameter scheduler", parent=ROOT_PARAM_SCHEDULERS, scope="loomdet",
                            locations=["loomdet.engine"])

# evaluation, visualization, inference
METRICS = Registry("metric", parent=ROOT_METRICS, scope="loomdet", locations=["loomdet.evaluation"])
EVALUATOR = Registry("evaluator", parent=ROOT_EVALUATOR, scope="loomdet", locations=["loomdet.evaluation"])
VISUALIZERS = Registry("visualizer", parent=ROOT_VISUALIZERS, scope="loomdet",
                       locations=["loomdet.visualization"])
VISBACKENDS = Registry("vis backend", parent=ROOT_VISBACKENDS, scope="loomdet",
                       locations=["loomdet.visualization"])
INFERENCERS = Registry("inferencer", parent=ROOT_INFERENCERS, scope="loomdet", locations=["loomdet.apis"])

__all__ = [
    "RUNNERS", "RUNNER_CONSTRUCTORS", "LOOPS", "HOOKS", "LOG_PROCESSORS", "DATASETS", "DATA_SAMPLERS",
    "TRANSFORMS", "FUNCTIONS", "MODELS", "MODEL_WRAPPERS", "WEIGHT_INITIALIZERS", "TASK_UTILS", "OPTIMIZERS",
    "OPTIM_WRAPPERS", "OPTIM_WRAPPER_CONSTRUCTORS", "PARAM_SCHEDULERS", "METRICS", "EVALUATOR", "VISUALIZERS",
    "VISBACKENDS", "INFERENCERS",
]
