"""``loomcv train CONFIG``: train (and validate) a model as a config describes.

Multi-process: ``torchrun --nproc_per_node N -m loomcv train CONFIG --launcher pytorch``
(DDP, or FSDP with ``strategy=dict(type='FSDPStrategy')`` in the config).
A run stopped by SIGTERM/SIGINT saves a checkpoint and exits with 128 + the
signal number; ``--resume`` (auto) continues it.
"""

import argparse
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction

    parser.add_argument("config", help="config file, pkg::path, or the name of a shipped config")
    parser.add_argument("--work-dir", help="folder for logs and checkpoints (default: the config's "
                                           "work_dir, else ./work_dirs/<config name>)")
    parser.add_argument("--resume", nargs="?", const="auto", default=None, metavar="auto|PATH",
                        help="continue a run: from the latest checkpoint in the work dir (no value or "
                             "'auto') or from PATH")
    parser.add_argument("--amp", action="store_true", help="mixed-precision training (AmpOptimWrapper)")
    parser.add_argument("--auto-scale-lr", action="store_true",
                        help="scale the learning rate by the real total batch size (auto_scale_lr)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help="override settings, e.g. train_cfg.max_epochs=2 optim_wrapper.optimizer.lr=0.01")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none",
                        help="how the processes were started (pytorch = torchrun)")
    add_compat_flag(parser)
    parser.add_argument("--local-rank", "--local_rank", type=int, default=0, help=argparse.SUPPRESS)


def add_compat_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compat", action="store_true",
                        help="serve `import mmengine / mmcv / mmpretrain / mmcls / mmdet ...` in the config's "
                             "custom_imports and user code from loomcv and its toolboxes (when those packages "
                             "are not installed); the same as compat_imports=True in the config")


def enable_compat_if_asked(args: argparse.Namespace) -> None:
    """``--compat``: switch the compat imports on before the config (and its custom_imports) loads."""
    if getattr(args, "compat", False):
        from loomcv.compat import enable
        enable()


def build_config(args: argparse.Namespace):
    """The config the run uses: file + --cfg-options + the command-line switches."""
    from loomcv.config import Config
    from loomcv.config.loader import find_config

    enable_compat_if_asked(args)
    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("work_dirs", osp.splitext(osp.basename(cfg.filename or args.config))[0])
    if args.amp:
        wrapper = cfg.get("optim_wrapper")
        if wrapper is None:
            raise ValueError("--amp needs an optim_wrapper in the config")
        if wrapper.get("type", "OptimWrapper") in ("OptimWrapper", "loomcv.OptimWrapper", "mmengine.OptimWrapper"):
            wrapper["type"] = "AmpOptimWrapper"
            wrapper.setdefault("loss_scale", "dynamic")
    if args.auto_scale_lr:
        scale = cfg.get("auto_scale_lr")
        if not scale or "base_batch_size" not in scale:
            raise ValueError("--auto-scale-lr needs auto_scale_lr=dict(base_batch_size=...) in the config")
        scale["enable"] = True
    if args.resume is not None:
        cfg.resume = True if args.resume == "auto" else args.resume
    return cfg


def run(args: argparse.Namespace) -> int:
    from loomcv.runner import Runner, TrainingInterrupted

    cfg = build_config(args)
    runner = Runner.from_cfg(cfg)  # honours runner_type ('Runner', 'FlexibleRunner' or a registered subclass)
    try:
        runner.train()
    except TrainingInterrupted as stop:
        return int(stop.code)
    return 0
