"""``loomcv test CONFIG CKPT [--show-dir DIR]``: evaluate a checkpoint on the config's test set
(and draw its predictions)."""

import argparse
import json
import os
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("checkpoint", help="checkpoint file to evaluate")
    parser.add_argument("--work-dir", help="where logs go (default work_dirs/<config name>)")
    parser.add_argument("--out", help="also save the metrics to this JSON file")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    parser.add_argument("--show-dir", help="draw the predictions and save the pictures in this folder "
                        "(switches on the config's default_hooks.visualization)")
    parser.add_argument("--show", action="store_true", help="show each drawn prediction in a window")
    parser.add_argument("--interval", type=int, default=1, help="draw every N-th test sample (default 1)")
    parser.add_argument("--wait-time", type=float, default=2, help="seconds each --show window stays open")


def build_config(args):
    from loomcv.checkpoint.urls import is_remote
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    if not osp.isfile(args.checkpoint) and not is_remote(args.checkpoint):
        raise FileNotFoundError(f"checkpoint {args.checkpoint!r} does not exist")
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or osp.join(
        "work_dirs", osp.splitext(osp.basename(cfg.filename or args.config))[0])
    if getattr(args, "show", False) or getattr(args, "show_dir", None) is not None:
        enable_visualization(cfg, args)
    return cfg


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


def run(args: argparse.Namespace) -> int:
    from loomcv.runner import Runner
    cfg = build_config(args)
    metrics = Runner.from_cfg(cfg).test()
    metrics = {k: _plain(v) for k, v in (metrics or {}).items()}
    for name, value in metrics.items():
        print(f"{name}: {value:.4f}" if isinstance(value, float) else f"{name}: {value}")
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint, metrics=metrics), f, indent=2)
        print(f"metrics saved to {args.out}")
    if args.show_dir:
        print(f"predictions drawn to {args.show_dir}")
    return 0
