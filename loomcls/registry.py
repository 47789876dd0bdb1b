"""loomcls' registries: children of loomcv's root ones, scope ``loomcls``.

Configs with ``default_scope = 'loomcls'`` (or the aliases ``mmpretrain`` and
``mmcls``, declared in :mod:`loomcls.toolbox`) find loomcls' components here
first, then loomcv's. ``locations`` are imported on the first look-up.
"""

from loomcv.registry import Registry
from loomcv.registry import root

RUNNERS = Registry("runner", parent=root.RUNNERS, scope="loomcls")
RUNNER_CONSTRUCTORS = Registry("runner constructor", parent=root.RUNNER_CONSTRUCTORS, scope="loomcls")
LOOPS = Registry("loop", parent=root.LOOPS, scope="loomcls")
HOOKS = Registry("hook", parent=root.HOOKS, scope="loomcls", locations=["loomcls.engine"])
LOG_PROCESSORS = Registry("log processor", parent=root.LOG_PROCESSORS, scope="loomcls")

DATASETS = Registry("dataset", parent=root.DATASETS, scope="loomcls", locations=["loomcls.datasets"])
DATA_SAMPLERS = Registry("data sampler", parent=root.DATA_SAMPLERS, scope="loomcls")
TRANSFORMS = Registry("transform", parent=root.TRANSFORMS, scope="loomcls",
                      locations=["loomcls.datasets.transforms"])

MODELS = Registry("model", parent=root.MODELS, scope="loomcls", locations=["loomcls.models"])
MODEL_WRAPPERS = Registry("model wrapper", parent=root.MODEL_WRAPPERS, scope="loomcls")
WEIGHT_INITIALIZERS = Registry("weight initializer", parent=root.WEIGHT_INITIALIZERS, scope="loomcls")

OPTIMIZERS = Registry("optimizer", parent=root.OPTIMIZERS, scope="loomcls")
OPTIM_WRAPPERS = Registry("optim wrapper", parent=root.OPTIM_WRAPPERS, scope="loomcls")
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optim wrapper constructor", parent=root.OPTIM_WRAPPER_CONSTRUCTORS,
                                      locations=["loomcls.engine"],
                                      scope="loomcls")
PARAM_SCHEDULERS = Registry("parameter scheduler", parent=root.PARAM_SCHEDULERS, scope="loomcls")

METRICS = Registry("metric", parent=root.METRICS, scope="loomcls", locations=["loomcls.evaluation"])
EVALUATOR = Registry("evaluator", parent=root.EVALUATOR, scope="loomcls")

VISUALIZERS = Registry("visualizer", parent=root.VISUALIZERS, scope="loomcls",
                       locations=["loomcls.visualization"])
VISBACKENDS = Registry("vis backend", parent=root.VISBACKENDS, scope="loomcls")

INFERENCERS = Registry("inferencer", parent=root.INFERENCERS, scope="loomcls", locations=["loomcls.apis"])
FUNCTIONS = Registry("function", parent=root.FUNCTIONS, scope="loomcls")
TASK_UTILS = Registry("task util", parent=root.TASK_UTILS, scope="loomcls")

#: Mixup, CutMix... applied by the data preprocessor to whole batches.
BATCH_AUGMENTS = Registry("batch augment", scope="loomcls", locations=["loomcls.models"])

__all__ = [*root.ROOT_REGISTRIES, "BATCH_AUGMENTS"]
