"""COCO bbox mAP against wall time for a detection config, trained by the Runner.

Trains CONFIG (default: the embedded digits default) and prints, after each
validation, the seconds since training began and the COCO metrics, so a
schedule can be judged by how fast it gets where. Each line also goes to
``--jsonl`` for plotting or comparing runs.

    python benchmarks/det_map_curve.py [CONFIG] [--threads 2] [--cfg-options k=v ...]

Wall time includes validation: it is what ``loomcv train`` costs a user.
"""

import argparse
import json
import os
import time

import torch

DEFAULT = "yolov3_mobilenetv2_1xb16_digitsdet"


def main() -> None:
    from loomcv.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", nargs="?", default=DEFAULT, help="config file or shipped config name")
    parser.add_argument("--work-dir", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--jsonl", default=None, help="append one json line per validation here")
    parser.add_argument("--tag", default="", help="a name for this run in the printed lines")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.hooks import Hook
    from loomcv.runner import Runner

    cfg = Config.fromfile(find_config(args.config), cfg_options=args.cfg_options)
    name = os.path.splitext(os.path.basename(args.config))[0]
    cfg.work_dir = args.work_dir or os.path.join("work_dirs", "det_map_curve", args.tag or name)
    cfg.default_hooks.pop("visualization", None)

    class CurveHook(Hook):
        """Records the time since training began at each validation."""

        def before_train(self, runner) -> None:
            self.start = time.perf_counter()

        def after_val_epoch(self, runner, metrics=None) -> None:
            row = dict(tag=args.tag, epoch=runner.epoch, iter=runner.iter,
                       seconds=round(time.perf_counter() - self.start, 1),
                       **{k: round(float(v), 4) for k, v in (metrics or {}).items()})
            print("CURVE", json.dumps(row), flush=True)
            if args.jsonl:
                with open(args.jsonl, "a") as f:
                    f.write(json.dumps(row) + "\n")

    runner = Runner.from_cfg(cfg)
    runner.register_hook(CurveHook(), priority="LOWEST")
    runner.train()


if __name__ == "__main__":
    main()
