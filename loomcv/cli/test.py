"""``loomcv test CONFIG CKPT``: evaluate a checkpoint on the config's test set."""

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


def build_config(args):
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f"checkpoint {args.checkpoint!r} does not exist")
    cfg.load_from = args.checkpoint
    cfg.resume = False
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get("work_dir") or osp.join(
        "work_dirs", osp.splitext(osp.basename(cfg.filename or args.config))[0])
    return cfg


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
    return 0
