"""``loomcv print-config CONFIG``: show the merged config a run would use."""

import argparse
import os
import tempfile

from loomcv.config import Config, DictAction


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="config file, pkg::path, or the name of a shipped config")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={}, metavar="KEY=VALUE",
                        help="override settings, e.g. model.backbone.depth=50 'workflow=[(train,1)]'")
    parser.add_argument("--explain", action="store_true",
                        help="show after each value the file:line or option that set it")
    parser.add_argument("--translated", action="store_true",
                        help="for MMCV 1.x-style configs: show the native config they translate to")
    parser.add_argument("--diff", metavar="OTHER", help="show only the leaf differences from OTHER")
    parser.add_argument("--format", choices=["py", "yaml", "json"], default="py",
                        help="output format (default: py)")


def load(name: str, options: dict, translated: bool = False) -> Config:
    from loomcv.config.loader import find_config

    return Config.fromfile(find_config(name), translate_legacy=translated, cfg_options=options)


def run(args: argparse.Namespace) -> int:
    cfg = load(args.config, args.cfg_options, args.translated)
    if args.diff:
        other = load(args.diff, {}, args.translated)
        rows = cfg.diff(other)
        for key, mine, theirs, src_a, src_b in rows:
            print(f"{key}:\n  - {mine!r}  ({src_a or '?'})\n  + {theirs!r}  ({src_b or '?'})")
        print(f"{len(rows)} difference(s) between {cfg.filename} and {other.filename}")
        return 0
    if args.explain:
        print(cfg.explain_text, end="")
    elif args.format == "py":
        print(cfg.pretty_text, end="")
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "config." + args.format)
            cfg.dump(path)
            with open(path, encoding="utf-8") as f:
                print(f.read(), end="")
    return 0
