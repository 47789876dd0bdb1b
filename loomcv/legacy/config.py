"""Translate MMCV 1.x / MMClassification 0.x configs to the native schema.

A config with the old top-level keys (``data``, ``optimizer``,
``optimizer_config``, ``lr_config``, ``runner``, ``checkpoint_config``,
``log_config``, ``evaluation``, ``workflow``, ``resume_from`` ...) is rewritten
when it is loaded. Every translated value remembers the legacy key it came
from, so ``loomcv print-config --translated --explain`` shows it. A legacy key
or value this module cannot translate faithfully is an error that names it.
``lr_config``/``momentum_config`` policies translate as the table in
:mod:`loomcv.legacy.policies` says. No torch: loading a config imports this.
"""

import copy
import warnings
from typing import Any, Dict, List, Tuple

from loomcv.config.config_dict import Path
from loomcv.registry.toolbox import toolbox_of_model

from .pipelines import legacy_error, translate_pipeline
from .policies import FLOOR_NAMES, POLICIES, REQUIRED, WARMUP_KEYS, native_schedulers, policies_of

#: top-level keys that only the legacy dialect uses
LEGACY_KEYS = ("data", "optimizer", "optimizer_config", "lr_config", "momentum_config", "runner",
               "total_epochs", "workflow", "evaluation", "checkpoint_config", "log_config",
               "resume_from", "dist_params", "gpu_ids", "cudnn_benchmark", "fp16")
#: keys that show a config is already native
NATIVE_KEYS = ("train_dataloader", "optim_wrapper", "param_scheduler", "train_cfg", "default_hooks")

_FOLDER_ROOT_DATASETS = {"CIFAR10", "CIFAR100", "MNIST", "FashionMNIST"}
_WRAPPER_DATASETS = {"RepeatDataset", "ClassBalancedDataset", "ConcatDataset", "KFoldDataset"}
_BATCH_AUGMENTS = {"BatchMixup": "Mixup", "BatchCutMix": "CutMix", "BatchResizeMix": "ResizeMix"}


def is_legacy(cfg: Dict[str, Any]) -> bool:
    return any(k in cfg for k in LEGACY_KEYS) and not any(k in cfg for k in NATIVE_KEYS)


class _Translation:
    """The output config plus, for each output key path, the legacy path it came from."""

    def __init__(self, src: Dict[str, Any]):
        self.src = src
        self.out: Dict[str, Any] = {k: v for k, v in src.items() if k not in LEGACY_KEYS}
        self.origin: Dict[Path, Path] = {(k,): (k,) for k in self.out}
        self.notes: List[str] = []

    def put(self, path: Path, value: Any, origin: Path) -> None:
        node = self.out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
        self.origin[path] = origin


_fail = legacy_error


def _no_extra(d: Dict[str, Any], allowed: Tuple[str, ...], key: str) -> None:
    extra = sorted(set(d) - set(allowed))
    if extra:
        raise _fail(key, f"cannot translate {', '.join(extra)} (known: {', '.join(allowed)})")


# ------------------------------------------------------------- datasets
def _dataset(ds: Any, key: str, norm: List[Dict[str, Any]]) -> Dict[str, Any]:
    if isinstance(ds, (list, tuple)):  # MMCV 1.x's build_dataset concatenated a list
        if not ds:
            raise _fail(key, "an empty list of datasets")
        return {"type": "ConcatDataset",
                "datasets": [_dataset(d, f"{key}.{i}", norm) for i, d in enumerate(ds)]}
    if not isinstance(ds, dict):
        raise _fail(key, f"expected a dataset dict or a list of them, got {type(ds).__name__}")
    ds = dict(ds)
    kind = ds.get("type")
    if kind in _WRAPPER_DATASETS:
        if "dataset" in ds:
            ds["dataset"] = _dataset(ds["dataset"], key + ".dataset", norm)
        if "datasets" in ds:
            ds["datasets"] = [_dataset(d, key + ".datasets", norm) for d in ds["datasets"]]
        return ds
    if "data_prefix" in ds and kind in _FOLDER_ROOT_DATASETS:
        ds["data_root"] = ds.pop("data_prefix")
    if "pipeline" in ds:
        ds["pipeline"] = translate_pipeline(ds["pipeline"], key + ".pipeline", norm)
    return ds


def _data(t: _Translation, norm: List[Dict[str, Any]]) -> None:
    data = dict(t.src["data"])
    batch = data.pop("samples_per_gpu", None)
    workers = data.pop("workers_per_gpu", None)
    persistent = data.pop("persistent_workers", None)
    per_split = {s: dict(data.pop(f"{s}_dataloader", {})) for s in ("train", "val", "test")}
    for split in ("train", "val", "test"):
        if split not in data:
            continue
        ds = data.pop(split)
        opts = per_split[split]
        own = {legacy: ("data", f"{split}_dataloader", legacy) if legacy in opts else ("data", legacy)
               for legacy in ("samples_per_gpu", "workers_per_gpu")}
        loader: Dict[str, Any] = {
            "batch_size": opts.pop("samples_per_gpu", batch),
            "num_workers": opts.pop("workers_per_gpu", workers if workers is not None else 0),
            "dataset": _dataset(ds, f"data.{split}", norm),
            "sampler": {"type": "DefaultSampler", "shuffle": split == "train"},
        }
        if loader["batch_size"] is None:
            raise _fail("data", f"no samples_per_gpu for the {split} split")
        if persistent is not None:
            loader["persistent_workers"] = bool(persistent) and loader["num_workers"] > 0
        loader.update(opts)
        t.put((f"{split}_dataloader",), loader, ("data", split))
        t.origin[(f"{split}_dataloader", "batch_size")] = own["samples_per_gpu"]
        t.origin[(f"{split}_dataloader", "num_workers")] = own["workers_per_gpu"]
    if data:
        raise _fail("data", f"cannot translate {', '.join(sorted(data))}")


# ---------------------------------------------------------------- model
def _model(t: _Translation, norm: List[Dict[str, Any]]) -> None:
    model = copy.deepcopy(t.out.get("model"))
    preprocessor: Dict[str, Any] = {}
    if not isinstance(model, dict):  # a data-only config (a _base_ file): still one preprocessor
        _normalization(t, norm, preprocessor)
        return
    if "pretrained" in model:
        checkpoint = model.pop("pretrained")
        if checkpoint:
            model["init_cfg"] = {"type": "Pretrained", "checkpoint": checkpoint}
    train_cfg = model.pop("train_cfg", None) or {}
    augments = train_cfg.pop("augments", None)
    if train_cfg:
        raise _fail("model.train_cfg", f"cannot translate {', '.join(sorted(train_cfg))}")
    if augments:
        augments = augments if isinstance(augments, list) else [augments]
        native, probs = [], []
        for aug in augments:
            aug = dict(aug)
            kind = aug.pop("type")
            if kind not in _BATCH_AUGMENTS:
                raise _fail("model.train_cfg.augments", f"unknown batch augment {kind!r}")
            num_classes = aug.pop("num_classes", None)
            if num_classes is not None:
                preprocessor["num_classes"] = num_classes
            probs.append(aug.pop("prob", 1.0))
            native.append({"type": _BATCH_AUGMENTS[kind], **aug})
        batch_augments: Dict[str, Any] = {"augments": native}
        if any(p != 1.0 for p in probs) or len(probs) > 1:
            batch_augments["probs"] = probs
        preprocessor["batch_augments"] = batch_augments
    t.put(("model",), model, ("model",))
    _normalization(t, norm, preprocessor)


def _normalization(t: _Translation, norm: List[Dict[str, Any]], preprocessor: Dict[str, Any]) -> None:
    """One data preprocessor for every split's Normalize (they must agree once folded to BGR input)."""
    if norm:
        first = norm[0]
        differing = next((n for n in norm[1:] if n != first), None)
        if differing is not None:
            raise _fail("data", f"the splits' Normalize steps differ ({first} vs. {differing}, the mean/std "
                                "and channel order each split normalizes with); the data preprocessor has one")
        preprocessor.update(first)
    if preprocessor:
        t.put(("data_preprocessor",), preprocessor, ("data",) if norm else ("model", "train_cfg"))


# ------------------------------------------------------------ optimizer
def _optimizer(t: _Translation) -> None:
    src = t.src
    if "optimizer" not in src:
        return
    optimizer = dict(src["optimizer"])
    wrapper: Dict[str, Any] = {"type": "OptimWrapper"}
    paramwise = optimizer.pop("paramwise_cfg", None)
    constructor = optimizer.pop("constructor", None)  # 1.x kept it in the optimizer dict
    config = dict(src.get("optimizer_config") or {})
    kind = config.pop("type", "OptimizerHook")
    if kind not in ("OptimizerHook", "GradientCumulativeOptimizerHook", "Fp16OptimizerHook",
                    "GradientCumulativeFp16OptimizerHook"):
        raise _fail("optimizer_config.type", f"{kind!r} has no native equivalent")
    grad_clip = config.pop("grad_clip", None)
    if grad_clip:
        wrapper["clip_grad"] = dict(grad_clip)
    if "cumulative_iters" in config:
        wrapper["accumulative_counts"] = config.pop("cumulative_iters")
    fp16 = dict(src.get("fp16") or {})
    if "Fp16" in kind or fp16:
        wrapper["type"] = "AmpOptimWrapper"
        scale = config.pop("loss_scale", fp16.pop("loss_scale", "dynamic"))
        wrapper["loss_scale"] = scale
    config.pop("detect_anomalous_params", None)
    _no_extra(config, (), "optimizer_config")
    wrapper["optimizer"] = optimizer
    if paramwise is not None:
        wrapper["paramwise_cfg"] = paramwise
    if constructor is not None:
        wrapper["constructor"] = constructor
    t.put(("optim_wrapper",), wrapper, ("optimizer",))


# ------------------------------------------------------------- schedule
def _length(t: _Translation) -> Tuple[bool, int]:
    runner = dict(t.src.get("runner") or {})
    kind = runner.get("type", "EpochBasedRunner")
    if kind == "IterBasedRunner":
        return False, int(runner["max_iters"])
    if "max_epochs" in runner:
        return True, int(runner["max_epochs"])
    if "total_epochs" in t.src:
        return True, int(t.src["total_epochs"])
    raise _fail("runner", "max_epochs (or total_epochs, or max_iters) is needed")


def _train_cfg(t: _Translation) -> None:
    if not any(k in t.src for k in ("runner", "total_epochs")):
        return
    runner = dict(t.src.get("runner") or {})
    kind = runner.pop("type", "EpochBasedRunner")
    if kind not in ("EpochBasedRunner", "IterBasedRunner"):
        raise _fail("runner.type", f"{kind!r} is not EpochBasedRunner or IterBasedRunner")
    by_epoch, length = _length(t)
    cfg: Dict[str, Any] = {"by_epoch": by_epoch}
    cfg["max_epochs" if by_epoch else "max_iters"] = length
    evaluation = t.src.get("evaluation") or {}
    cfg["val_interval"] = evaluation.get("interval", 1)
    if evaluation.get("start") is not None:
        cfg["val_begin"] = evaluation["start"]
    t.put(("train_cfg",), cfg, ("runner",) if "runner" in t.src else ("total_epochs",))


def _policy_schedulers(t: _Translation, key: str, value: str) -> List[Dict[str, Any]]:
    """``param_scheduler`` entries for an ``lr_config`` (value 'LR') or ``momentum_config``."""
    cfg = dict(t.src[key])
    updater = value.lower()
    table = policies_of(updater)
    if "policy" not in cfg:
        raise _fail(key, "needs a policy")
    policy = cfg.pop("policy")
    found = POLICIES.get(str(policy).lower())
    if found is None or found.name not in table:
        raise _fail(f"{key}.policy", f"{policy!r} is not an MMCV 1.x policy here (known: {', '.join(table)})")
    arguments = found.arguments(updater)
    by_epoch = cfg.pop("by_epoch", not found.per_iteration)
    if found.per_iteration and by_epoch:
        raise _fail(f"{key}.by_epoch", f"the {policy!r} policy changes every iteration; MMCV 1.x allows "
                                       "only by_epoch=False for it")
    run_by_epoch, length = _length(t)
    if not run_by_epoch:
        by_epoch = False  # an iteration-based runner counts iterations
    warm = {k: cfg.pop(k) for k in WARMUP_KEYS if k in cfg}
    if warm.get("warmup") is None:
        warm = {}
    if value == "Momentum" and "warmup_by_epoch" in warm:
        raise _fail(f"{key}.warmup_by_epoch", "MMCV 1.x momentum updaters have no warmup_by_epoch")
    if warm.get("warmup_by_epoch") and not run_by_epoch:
        raise _fail(f"{key}.warmup_by_epoch", "an IterBasedRunner has no epoch length to count the warmup in")
    _no_extra(cfg, tuple(arguments), key)
    missing = [k for k, default in arguments.items() if default is REQUIRED and k not in cfg]
    if missing:
        raise _fail(key, f"the {found.name!r} policy needs {', '.join(missing)}")
    floor, ratio = FLOOR_NAMES[updater]
    if found.translated_floor is not None and cfg.get(floor) is None and cfg.get(ratio) is None:
        cfg[floor] = found.translated_floor
    native = native_schedulers(found, cfg, warm, by_epoch, run_by_epoch, length, value)
    if native is not None:
        return native
    sched = {"type": f"Legacy{value}", "policy": policy, "per_epoch": by_epoch, **warm, **cfg,
             "begin": 0, "end": length}
    sched.update({"by_epoch": True, "convert_to_iter_based": True} if run_by_epoch else {"by_epoch": False})
    return [sched]


def _schedule(t: _Translation) -> None:
    schedulers: List[Dict[str, Any]] = []
    origins: List[str] = []
    for key, value in (("lr_config", "LR"), ("momentum_config", "Momentum")):
        if t.src.get(key):
            made = _policy_schedulers(t, key, value)
            schedulers += made
            origins += [key] * len(made)
    if schedulers or "lr_config" in t.src:
        t.put(("param_scheduler",), schedulers, ("lr_config",) if "lr_config" in t.src else ("momentum_config",))
        for i, key in enumerate(origins):
            t.origin[("param_scheduler", i)] = (key,)


# ---------------------------------------------------------------- hooks
_METRICS = {"accuracy": "Accuracy", "precision": "SingleLabelMetric", "recall": "SingleLabelMetric",
            "f1_score": "SingleLabelMetric", "support": "SingleLabelMetric", "mAP": "AveragePrecision",
            "CP": "MultiLabelMetric", "CR": "MultiLabelMetric", "CF1": "MultiLabelMetric",
            "OP": "MultiLabelMetric", "OR": "MultiLabelMetric", "OF1": "MultiLabelMetric"}


def _evaluation(t: _Translation, hooks: Dict[str, Any]) -> None:
    evaluation = dict(t.src.get("evaluation") or {})
    if not evaluation:
        return
    metrics = evaluation.pop("metric", "accuracy")
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    options = dict(evaluation.pop("metric_options", {}) or {})
    evaluators: List[Dict[str, Any]] = []
    for name in metrics:
        if name not in _METRICS:
            raise _fail("evaluation.metric", f"unknown metric {name!r} (known: {', '.join(_METRICS)})")
        kind = _METRICS[name]
        found = next((e for e in evaluators if e["type"] == kind), None)
        if found is None:
            found = {"type": kind}
            evaluators.append(found)
        if kind == "Accuracy":
            found.update({k: v for k, v in options.items() if k in ("topk", "thrs")})
        elif kind == "SingleLabelMetric":
            found.setdefault("items", []).append(name.replace("f1_score", "f1-score"))
    value = evaluators[0] if len(evaluators) == 1 else evaluators
    t.put(("val_evaluator",), value, ("evaluation",))
    t.put(("test_evaluator",), copy.deepcopy(value), ("evaluation",))
    t.put(("val_cfg",), {}, ("evaluation",))
    t.put(("test_cfg",), {}, ("evaluation",))
    best = evaluation.pop("save_best", None)
    if best:
        hooks.setdefault("checkpoint", {"type": "CheckpointHook"})["save_best"] = \
            "auto" if best is True else str(best).replace("accuracy_top-", "accuracy/top")
        if "rule" in evaluation:
            hooks["checkpoint"]["rule"] = evaluation.pop("rule")
    for key in ("interval", "start", "rule", "by_epoch", "gpu_collect", "tmpdir"):
        evaluation.pop(key, None)
    _no_extra(evaluation, (), "evaluation")


_LOGGERS = {"TextLoggerHook": "LocalVisBackend", "TensorboardLoggerHook": "TensorboardVisBackend",
            "MlflowLoggerHook": "MLflowVisBackend"}


def _checkpoint_options(t: _Translation, checkpoint: Dict[str, Any]) -> None:
    """The 1.x CheckpointHook options MMEngine dropped: ``sync_buffer`` (average BatchNorm
    statistics over the ranks before saving) becomes a SyncBuffersHook; ``file_client_args``
    (the storage backend) is only meaningful for local disks here."""
    if "sync_buffer" in checkpoint:
        if checkpoint.pop("sync_buffer"):
            hook = {"type": "SyncBuffersHook"}
            hooks = list(t.out.get("custom_hooks") or [])
            if hook not in hooks:
                t.put(("custom_hooks",), hooks + [hook], ("checkpoint_config", "sync_buffer"))
            t.notes.append("checkpoint_config.sync_buffer=True is deprecated: write "
                           "custom_hooks=[dict(type='SyncBuffersHook')] (added for you)")
        else:
            t.notes.append("checkpoint_config.sync_buffer=False is deprecated and has no effect; remove it")
    if "file_client_args" in checkpoint:
        client = dict(checkpoint.pop("file_client_args") or {})
        backend = client.get("backend", "disk")
        if backend not in ("disk", "local"):
            raise _fail("checkpoint_config.file_client_args", f"backend {backend!r}: checkpoints are saved to "
                        "the local file system here (backend='disk')")
        t.notes.append("checkpoint_config.file_client_args is deprecated (MMEngine: backend_args) and "
                       "has no effect for the local disk; remove it")


def _hooks(t: _Translation) -> None:
    hooks: Dict[str, Any] = {}
    checkpoint = dict(t.src.get("checkpoint_config") or {})
    if checkpoint:
        _checkpoint_options(t, checkpoint)
        hooks["checkpoint"] = {"type": "CheckpointHook", **checkpoint}
    _evaluation(t, hooks)
    log = dict(t.src.get("log_config") or {})
    if log:
        hooks["logger"] = {"type": "LoggerHook", "interval": log.pop("interval", 10)}
        backends = []
        for hook in log.pop("hooks", []):
            hook = dict(hook)
            kind = hook.pop("type")
            if kind not in _LOGGERS:
                raise _fail("log_config.hooks", f"{kind!r} has no vis backend here "
                                                f"(known: {', '.join(_LOGGERS)})")
            backends.append({"type": _LOGGERS[kind]})
        if backends:
            t.put(("visualizer",), {"type": "Visualizer", "vis_backends": backends}, ("log_config",))
        _no_extra(log, (), "log_config")
    origins = {"checkpoint": ("checkpoint_config",) if checkpoint else ("evaluation",),
               "logger": ("log_config",)}
    for name, hook in hooks.items():
        t.put(("default_hooks", name), hook, origins[name])


def _runtime(t: _Translation) -> None:
    src = t.src
    env: Dict[str, Any] = {}
    if "dist_params" in src:
        env["dist_cfg"] = dict(src["dist_params"])
    if "cudnn_benchmark" in src:
        env["cudnn_benchmark"] = bool(src["cudnn_benchmark"])
    if env:
        t.put(("env_cfg",), env, ("dist_params",) if "dist_params" in src else ("cudnn_benchmark",))
    if src.get("resume_from"):
        t.put(("load_from",), src["resume_from"], ("resume_from",))
        t.put(("resume",), True, ("resume_from",))
    model_type = (t.out.get("model") or {}).get("type")
    toolbox = toolbox_of_model(model_type) if isinstance(model_type, str) and "." not in model_type else None
    if toolbox is not None:  # a 1.x config names no scope: its model's toolbox gives it
        t.out.setdefault("default_scope", toolbox.scope)


def _workflow(t: _Translation) -> None:
    workflow = t.src.get("workflow", [("train", 1)])
    phases = [tuple(w)[0] for w in workflow]
    if any(p not in ("train", "val") for p in phases):
        raise _fail("workflow", f"unknown phase in {workflow!r}")
    if "val" not in phases:
        return
    # 0.x ran the losses on data.val with the training pipeline (tools/train.py), without gradients.
    by_epoch, _ = _length(t)
    if not by_epoch:
        raise _fail("workflow", "'val' phases of an IterBasedRunner (validation-loss iterations) are not "
                                "translated; use an EpochBasedRunner or remove them")
    counts = {phase: n for phase, n in (tuple(w) for w in workflow)}
    if len(workflow) != 2 or phases != ["train", "val"]:
        raise _fail("workflow", f"only [('train', n), ('val', m)] is translated, got {workflow!r}")
    train, val = t.out.get("train_dataloader"), t.out.get("val_dataloader")
    if not train or not val or "pipeline" not in val["dataset"] or "pipeline" not in train["dataset"]:
        raise _fail("workflow", "a 'val' phase needs data.train and data.val with pipelines")
    loader = copy.deepcopy(val)
    loader["dataset"]["pipeline"] = copy.deepcopy(train["dataset"]["pipeline"])
    loader["sampler"] = {"type": "DefaultSampler", "shuffle": False}
    hook = {"type": "ValLossHook", "dataloader": loader, "interval": counts["train"], "epochs": counts["val"]}
    t.put(("custom_hooks",), list(t.out.get("custom_hooks") or []) + [hook], ("workflow",))


def translate(cfg: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[Path, Path]]:
    """The native config for a legacy one, and output path -> legacy path."""
    t = _Translation(copy.deepcopy(cfg))
    norm: List[Dict[str, Any]] = []
    if "data" in t.src:
        _data(t, norm)
    _model(t, norm)
    _optimizer(t)
    _train_cfg(t)
    _workflow(t)
    _schedule(t)
    _hooks(t)
    _runtime(t)
    for note in t.notes:
        warnings.warn(note, FutureWarning, stacklevel=3)
    return t.out, t.origin


__all__ = ["LEGACY_KEYS", "NATIVE_KEYS", "is_legacy", "translate"]
