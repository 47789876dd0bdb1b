"""``loomcv test CONFIG CKPT [--show-dir DIR]``: evaluate a checkpoint on the config's test set
(and draw its predictions)."""

import argparse
import json
import os
import os.path as osp
import pickle
from typing import Any, List

from .train import add_compat_flag, enable_compat_if_asked

OUT_ITEMS = ("metrics", "pred")
OUT_FORMATS = (".json", ".pkl", ".pickle")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("checkpoint", help="checkpoint file to evaluate")
    parser.add_argument("--work-dir", help="where logs go (default work_dirs/<config name>)")
    parser.add_argument("--out", help="save the results to this .json or .pkl file (see --out-item)")
    parser.add_argument("--out-item", choices=OUT_ITEMS,
                        help="what --out holds: 'pred', every prediction as a list of dicts (MMPretrain's "
                             "layout); 'metrics', the metrics; default: both, as {config, checkpoint, "
                             "metrics, predictions}")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    parser.add_argument("--show-dir", help="draw the predictions and save the pictures in this folder "
                        "(switches on the config's default_hooks.visualization)")
    parser.add_argument("--show", action="store_true", help="show each drawn prediction in a window")
    parser.add_argument("--interval", type=int, default=1, help="draw every N-th test sample (default 1)")
    parser.add_argument("--wait-time", type=float, default=2, help="seconds each --show window stays open")
    parser.add_argument("--tta", action="store_true",
                        help="test-time augmentation: wrap the model in the config's tta_model and test with "
                             "its tta_pipeline (as the OpenMMLab test scripts do)")
    add_compat_flag(parser)


def build_config(args):
    from loomcv.checkpoint.urls import is_remote
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    enable_compat_if_asked(args)
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    if not osp.exists(args.checkpoint) and not is_remote(args.checkpoint):  # a file, or a sharded folder
        raise FileNotFoundError(f"checkpoint {args.checkpoint!r} does not exist")
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or osp.join(
        "work_dirs", osp.splitext(osp.basename(cfg.filename or args.config))[0])
    if getattr(args, "show", False) or getattr(args, "show_dir", None) is not None:
        enable_visualization(cfg, args)
    if getattr(args, "tta", False):
        enable_tta(cfg)
    return cfg


def enable_tta(cfg) -> None:
    """``model`` becomes ``dict(**tta_model, module=model)`` and the test set's pipeline
    ``tta_pipeline`` (the innermost dataset's when wrappers hold it)."""
    from loomcv.errors import ConfigKeyError
    missing = [key for key in ("tta_model", "tta_pipeline") if not cfg.get(key)]
    if missing:
        raise ConfigKeyError(
            f"--tta needs {' and '.join(missing)} in the config: tta_model=dict(type=...) names a "
            "BaseTTAModel subclass that merges the views (your toolbox's, e.g. a score-averaging one) and "
            "tta_pipeline the test pipeline ending in dict(type='TestTimeAug', transforms=[[...], ...])")
    if not cfg.get("test_dataloader"):
        raise ConfigKeyError("--tta needs a test_dataloader in the config")
    cfg.model = dict(cfg.tta_model, module=cfg.model)
    dataset = cfg.test_dataloader["dataset"]
    while "pipeline" not in dataset and isinstance(dataset.get("dataset"), dict):
        dataset = dataset["dataset"]
    dataset["pipeline"] = cfg.tta_pipeline


def enable_visualization(cfg, args) -> None:
    """Switch on the config's ``default_hooks.visualization`` for --show/--show-dir, as the
    OpenMMLab test scripts do (the hook type is the toolbox's: VisualizationHook, ...)."""
    from loomcv.errors import ConfigKeyError
    hook = (cfg.get("default_hooks") or {}).get("visualization")
    if not hook:
        raise ConfigKeyError(
            "--show/--show-dir need a visualization hook in the config: add "
            "default_hooks=dict(visualization=dict(type='VisualizationHook')) (or your toolbox's "
            "visualization hook) to it or to its _base_ runtime")
    if args.interval < 1:
        raise ValueError(f"--interval must be >= 1, got {args.interval}")
    hook["enable"] = True
    hook["show"] = bool(args.show)
    hook["interval"] = args.interval
    if args.show:
        hook["wait_time"] = args.wait_time
    hook["out_dir"] = args.show_dir


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def jsonable(value: Any) -> Any:
    """Tensors and arrays as (nested) lists, data samples as dicts, so predictions dump to JSON."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        value = value.to_dict()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _keep_predictions(runner) -> List[Any]:
    """Add a collector to every test evaluator; the returned list fills with the plain (``to_dict``)
    predictions, in dataset order, when the test runs."""
    from loomcv.evaluator import BaseMetric, to_cpu

    kept: List[Any] = []

    class _KeepPredictions(BaseMetric):
        def process(self, data_batch, data_samples) -> None:
            self.results.extend(to_cpu(list(data_samples)))

        def compute_metrics(self, results) -> dict:
            kept.extend(results)
            return {}

    for item in runner.test_loop.sets:
        item.evaluator.metrics.append(_KeepPredictions())
    return kept


def _write(path: str, payload: Any) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    if path.endswith(".json"):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(jsonable(payload), f, indent=1)
    else:
        with open(path, "wb") as f:
            pickle.dump(payload, f)


def run(args: argparse.Namespace) -> int:
    from loomcv.runner import Runner
    if args.out and not args.out.endswith(OUT_FORMATS):
        raise ValueError(f"--out must end with one of {OUT_FORMATS}, got {args.out!r}")
    if args.out_item and not args.out:
        raise ValueError(f"--out-item {args.out_item} needs --out FILE")
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)
    predictions = _keep_predictions(runner) if args.out and args.out_item != "metrics" else None
    metrics = runner.test()
    metrics = {k: _plain(v) for k, v in (metrics or {}).items()}
    for name, value in metrics.items():
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")
    if args.out and runner.rank == 0:
        if args.out_item == "pred":
            _write(args.out, predictions)
        elif args.out_item == "metrics":
            _write(args.out, dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics))
        else:
            _write(args.out, dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics,
                                  predictions=predictions))
        if args.out_item == "metrics":
            print(f"metrics saved to {args.out}")
        else:
            print(f"{'' if args.out_item else 'metrics and '}{len(predictions)} predictions saved to {args.out}")
    if args.show_dir:
        print(f"predictions drawn to {args.show_dir}")
    return 0
