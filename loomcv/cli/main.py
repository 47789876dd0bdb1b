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
    "print-config": ("loomcv.cli.print_config", "print the merged config, optionally with where each value came from"),
}


def _error_text(err: BaseException) -> str:
    notes = "".join(f"\n  {n}" for n in getattr(err, "__notes__", ()))
    return f"{type(err).__name__}: {err}{notes}"


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="loomcv", description="config-driven training with loomcv")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    # Parse only the command name first, then let its module define the rest.
    known, _ = parser.parse_known_args(argv[:1] + [a for a in argv[1:] if a == "--debug"] if argv and argv[0] in COMMANDS else argv)
    if known.command is None:
        parser.print_help()
        return 2
    module = importlib.import_module(COMMANDS[known.command][0])
    cmd_parser = argparse.ArgumentParser(prog=f"loomcv {known.command}", description=COMMANDS[known.command][1])
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
        print(f"loomcv {known.command}: error: {_error_text(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
