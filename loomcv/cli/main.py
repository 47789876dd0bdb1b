"""Entry point of the ``loomcv`` command.

Each sub-command lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``; only the module of the command being run is imported, so
``loomcv print-config`` never pays for torch. Toolboxes add their commands by
declaring them (:mod:`loomcv.registry.toolbox`); a command that several
toolboxes provide runs the one of the toolbox the config's ``default_scope`` names.
"""

import argparse
import importlib
import sys
from typing import Dict, List, Optional, Tuple

#: sub-command -> (module, one-line help)
COMMANDS = {
    "print-config": ("loomcv.cli.print_config",
                     "print the merged config, optionally with where each value came from"),
    "browse-dataset": ("loomcv.cli.browse_dataset",
                       "save PNG grids of dataset samples before, after and at each pipeline step"),
    "plot-lr": ("loomcv.cli.plot_lr", "plot a config's learning-rate (and momentum) schedule per iteration"),
    "train": ("loomcv.cli.train", "train a model from a config (resumable, single or multi-process)"),
    "test": ("loomcv.cli.test", "evaluate a checkpoint on the config's test set; --out saves predictions and metrics"),
    "get-flops": ("loomcv.cli.get_flops", "count a config's parameters and FLOPs per module for one input size"),
    "convert-checkpoint": ("loomcv.cli.convert_checkpoint", "convert loomcv/state-dict/MMEngine/safetensors weights"),
    "analyze-logs": ("loomcv.cli.analyze_logs",
                     "plot logged curves of runs (plot-curve) or their iteration times (cal-train-time)"),
    "verify-dataset": ("loomcv.cli.verify_dataset",
                       "run every sample of a config's dataset through its pipeline and list the broken ones"),
    "export": ("loomcv.cli.export",
               "export a checkpoint to ONNX, TorchScript or torch.export, checked against PyTorch"),
}


def available_commands() -> Dict[str, Tuple[str, str]]:
    """Sub-command -> (module, help): the engine's, then one entry per toolbox command."""
    from loomcv.registry.toolbox import toolbox_commands
    commands = dict(COMMANDS)
    for name, providers in toolbox_commands().items():
        if name not in commands:
            scopes = ", ".join(tb.scope for tb, _, _ in providers)
            commands[name] = (providers[0][1], providers[0][2] + (f" [{scopes}]" if len(providers) > 1 else ""))
    return commands


def command_module(name: str, argv: List[str]) -> str:
    """The module that runs ``name``; for a command of several toolboxes, the config's toolbox's."""
    from loomcv.registry.toolbox import toolbox_commands
    providers = toolbox_commands().get(name, [])
    if name in COMMANDS or len(providers) <= 1:
        return available_commands()[name][0]
    from loomcv.config import Config
    from loomcv.config.loader import find_config
    from loomcv.registry import resolve_scope
    config = next((a for a in argv if not a.startswith("-")), None)
    if config is None:
        raise SystemExit(f"loomcv {name}: give a config first; the command is provided by "
                         f"{', '.join(tb.scope for tb, _, _ in providers)} and the config says which")
    scope = resolve_scope(Config.fromfile(find_config(config)).get("default_scope"))
    for toolbox, module, _ in providers:
        if toolbox.scope == scope:
            return module
    raise SystemExit(f"loomcv {name}: the config {config!r} has default_scope {scope!r}; "
                     f"this command is provided by {', '.join(tb.scope for tb, _, _ in providers)}")


def _error_text(err: BaseException) -> str:
    notes = "".join(f"\n  {n}" for n in getattr(err, "__notes__", ()))
    return f"{type(err).__name__}: {err}{notes}"


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="loomcv", description="config-driven training with loomcv")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = available_commands()
    for name, (_, help_text) in commands.items():
        sub.add_parser(name, help=help_text)
    if not argv or argv[0] not in commands:
        parser.parse_args(argv)  # prints help for -h, or names the unknown command
        parser.print_help()
        return 2
    command = argv[0]
    module = importlib.import_module(command_module(command, argv[1:]))
    cmd_parser = argparse.ArgumentParser(prog=f"loomcv {command}", description=commands[command][1])
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
