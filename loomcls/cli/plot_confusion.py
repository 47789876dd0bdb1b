"""``loomcv plot-confusion CONFIG CKPT``: the test-set confusion matrix as a PNG."""

import argparse
import os
import os.path as osp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from loomcv.config import DictAction
    parser.add_argument("config", help="config file or shipped config name")
    parser.add_argument("checkpoint", help="checkpoint file to evaluate")
    parser.add_argument("--out", default="confusion_matrix.png", help="PNG file to write")
    parser.add_argument("--normalize", action="store_true", help="rows as fractions of each true class")
    parser.add_argument("--work-dir", help="where logs go")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override config keys: a.b=1")


def run(args: argparse.Namespace) -> int:
    from loomcls.evaluation import ConfusionMatrix
    from loomcv.cli.test import build_config
    from loomcv.runner import Runner
    args.launcher = "none"
    cfg = build_config(args)
    cfg.test_evaluator = dict(type="ConfusionMatrix")
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    matrix = metrics["confusion_matrix/result"]
    classes = (runner.test_dataloader.dataset.metainfo or {}).get("classes")
    fig = ConfusionMatrix.plot(matrix, classes=classes, normalize=args.normalize)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=100)
    print(f"confusion matrix ({matrix.shape[0]} classes) saved to {args.out}")
    return 0
