"""The command line (`archdsl ...`): the list of commands and the dispatch to them.

Each command is one module of `archdsl/commands/` with `add_parser(subparsers)`, which
registers its arguments and its `run`, and `run(args)`. User errors (ArchError, bad
arguments) print one located message and exit 1; anything else is a bug and keeps its
traceback. Importing a command module imports neither torch nor Optuna: they are imported
when a command that needs them runs, so the analysis commands never import torch.
"""
from __future__ import annotations

import argparse
import sys

from .commands import check, render, search, summary, zoo
from .commands import compile as compile_command
from .commands import eval as eval_command
from .commands.common import EPILOG
from .errors import ArchError

COMMANDS = (check, summary, compile_command, eval_command, render, zoo, search)


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are an ordinary user error: message, usage, exit 1."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"archdsl: error: {message}\n")
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="archdsl", description="A language for convolutional network architectures: "
                "exact costs, PyTorch modules, diagrams and design-rule search.", epilog=EPILOG)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def _version() -> str:
    from . import __version__
    return __version__


def main(argv=None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except ArchError as err:
        sys.stderr.write(err.format() + "\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("archdsl: interrupted\n")
        return 130
    except BrokenPipeError:
        return 0
