"""loomcv's root registries; downstream projects create children of these.

``locations`` name the loomcv modules whose import registers the built-in
components, so nothing heavy (torch included) loads until a name is looked up.
"""

from .build_functions import build_model_from_cfg, build_runner_from_cfg, build_scheduler_from_cfg
from .registry import Registry

_RUNNER = ["loomcv.runner"]
_MODEL = ["loomcv.model"]
_OPTIM = ["loomcv.optim"]
_DATA = ["loomcv.dataset"]

RUNNERS = Registry("runner", build_func=build_runner_from_cfg, scope="loomcv", locations=_RUNNER)
RUNNER_CONSTRUCTORS = Registry("runner constructor", scope="loomcv", locations=_RUNNER)
LOOPS = Registry("loop", scope="loomcv", locations=_RUNNER)
HOOKS = Registry("hook", scope="loomcv", locations=["loomcv.hooks", "loomcv.legacy.hooks"])
LOG_PROCESSORS = Registry("log processor", scope="loomcv", locations=_RUNNER)

DATASETS = Registry("dataset", scope="loomcv", locations=_DATA)
DATA_SAMPLERS = Registry("data sampler", scope="loomcv", locations=_DATA)
TRANSFORMS = Registry("transform", scope="loomcv", locations=["loomcv.transforms", "loomcv.legacy.transforms"])

MODELS = Registry("model", build_func=build_model_from_cfg, scope="loomcv", locations=_MODEL)
MODEL_WRAPPERS = Registry("model wrapper", scope="loomcv", locations=_MODEL)
WEIGHT_INITIALIZERS = Registry("weight initializer", scope="loomcv", locations=_MODEL)

OPTIMIZERS = Registry("optimizer", scope="loomcv", locations=_OPTIM)
OPTIM_WRAPPERS = Registry("optim wrapper", scope="loomcv", locations=_OPTIM)
OPTIM_WRAPPER_CONSTRUCTORS = Registry("optim wrapper constructor", scope="loomcv", locations=_OPTIM)
PARAM_SCHEDULERS = Registry("parameter scheduler", build_func=build_scheduler_from_cfg, scope="loomcv",
                            locations=_OPTIM + ["loomcv.legacy.schedulers"])

METRICS = Registry("metric", scope="loomcv", locations=["loomcv.evaluator"])
EVALUATOR = Registry("evaluator", scope="loomcv", locations=["loomcv.evaluator"])

VISUALIZERS = Registry("visualizer", scope="loomcv", locations=["loomcv.visualization"])
VISBACKENDS = Registry("vis backend", scope="loomcv", locations=["loomcv.visualization"])

INFERENCERS = Registry("inferencer", scope="loomcv")
FUNCTIONS = Registry("function", scope="loomcv", locations=_DATA)
TASK_UTILS = Registry("task util", scope="loomcv")

ROOT_REGISTRIES = dict(
    RUNNERS=RUNNERS, RUNNER_CONSTRUCTORS=RUNNER_CONSTRUCTORS, LOOPS=LOOPS, HOOKS=HOOKS,
    LOG_PROCESSORS=LOG_PROCESSORS, DATASETS=DATASETS, DATA_SAMPLERS=DATA_SAMPLERS,
    TRANSFORMS=TRANSFORMS, MODELS=MODELS, MODEL_WRAPPERS=MODEL_WRAPPERS,
    WEIGHT_INITIALIZERS=WEIGHT_INITIALIZERS, OPTIMIZERS=OPTIMIZERS, OPTIM_WRAPPERS=OPTIM_WRAPPERS,
    OPTIM_WRAPPER_CONSTRUCTORS=OPTIM_WRAPPER_CONSTRUCTORS, PARAM_SCHEDULERS=PARAM_SCHEDULERS,
    METRICS=METRICS, EVALUATOR=EVALUATOR, VISUALIZERS=VISUALIZERS, VISBACKENDS=VISBACKENDS,
    INFERENCERS=INFERENCERS, FUNCTIONS=FUNCTIONS, TASK_UTILS=TASK_UTILS)
