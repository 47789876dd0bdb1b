"""Entry point of the ``loomcv`` command.

Each sub-command lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``; only the module of the command being run is imported, so
``loomcv print-config`` never pays for torch.
"""

import argparse
import importlib
import sys
from typing import List, Optional

#: sub-command -> (module, one-line help)
COMMANDS = {
    "print-config": ("loomcv.cli.print_config",
                     "print the merged config, optionally with where each value came from"),
    "browse-dataset": ("loomcv.cli.browse_dataset",
                       "save PNG grids of dataset samples before, after and at each pipeline step"),
    "plot-lr": ("loomcv.cli.plot_lr", "plot a config's learning-rate (and momentum) schedule per iteration"),
    "train": ("loomcv.cli.train", "train a model from a config (resumable, single or multi-process)"),
    "test": ("loomcv.cli.test", "evaluate a checkpoint on the config's test set; --out saves the metrics"),
    "infer": ("loomcv.cli.infer", "classify images with a config and checkpoint; prints class names"),
    "plot-confusion": ("loomcv.cli.plot_confusion", "draw the test-set confusion matrix of a checkpoint to a PNG"),
    "get-flops": ("loomcv.cli.get_flops", "count a config's parameters and FLOPs per module for one input size"),
    "convert-checkpoint": ("loomcv.cli.convert_checkpoint", "convert loomcv/state-dict/MMEngine/safetensors weights"),
}


def _error_text(err: BaseException) -> str:
    notes = "".join(f"\n  {n}" for n in getattr(err, "__notes__", ()))
    return f"{type(err).__name__}: {err}{notes}"


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="loomcv", description="config-driven training with loomcv")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    if not argv or argv[0] not in COMMANDS:
        parser.parse_args(argv)  # prints help for -h, or names the unknown command
        parser.print_help()
        return 2
    command = argv[0]
    module = importlib.import_module(COMMANDS[command][0])
    cmd_parser = argparse.ArgumentParser(prog=f"loomcv {command}", description=COMMANDS[command][1])
    cmd_parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    module.add_arguments(cmd_parser)
    args = cmd_parser.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # a clean message for users; --debug for the traceback
        if args.debug:
            raise
        print(f"loomcv {command}: error: {_error_text(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
