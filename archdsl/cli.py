"""The command line (`archdsl ...`): the list of commands and the dispatch to them.

Each command is one module of `archdsl/commands/` with `add_parser(subparsers)`, which
registers its arguments and its `run`, and `run(args)`. User errors (ArchError, bad
arguments) print one located message and exit 1; so do a standard output that is closed
(refused before any work) or fails (a full device), and an operating-system error naming a
file. SIGTERM and SIGHUP unwind like Ctrl-C (exit 128 + the signal's number). Anything else is
a bug and keeps its traceback. Importing a command module imports neither torch nor Optuna:
they are imported when a command that needs them runs, so the analysis commands (check,
summary, render, eval) never import torch; nor what only some runs need (json output, HTML,
the renderers), since every command module is imported at every start.
"""
from __future__ import annotations

import argparse
import gc
import os
import signal
import sys

from . import processes
from .commands import check, lsp, render, search, summary, zoo
from .commands import compile as compile_command
from .commands import eval as eval_command
from .commands.common import EPILOG
from .errors import ArchError, Span, format_error
from .files import reason, shown

COMMANDS = (check, summary, compile_command, eval_command, render, zoo, search, lsp)


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


def process_main() -> int:
    """The `archdsl` process (the console script, `python -m archdsl`): `main`, after moving
    every object the imports made (modules, classes, functions, the op registry: they live as
    long as the process) into Python's permanent garbage-collector generation, so that no
    collection walks them again, nor the last one at exit. That was a fifth of the whole
    `archdsl summary zoo:resnet152` process (bench/bench_startup.py). Not in `main`, which
    tests and notebooks call in a process that lives on."""
    gc.freeze()
    return main()


def main(argv=None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    args = build_parser().parse_args(argv)
    stdout, failed = sys.stdout, None
    try:
        with processes.signals_interrupt():
            if stdout is None:  # `>&-`: refuse before the work, not after it
                raise ArchError("standard output is closed; redirect it (>/dev/null) instead")
            sys.stdout = _WatchedStdout(stdout)
            try:
                code = args.run(args) or 0
                sys.stdout.flush()  # a full stdout (>/dev/full) fails here at the latest
            finally:
                failed, sys.stdout = getattr(sys.stdout, "failed", None), stdout
            return code
    except ArchError as err:
        _report(err.format())
        return 1
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)
        _report(f"archdsl: {'interrupted' if signum == signal.SIGINT else 'terminated'}")
        return 128 + signum
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except OSError as e:
        if e is failed:
            _silence_stdout()
            message = f"archdsl: error: cannot write to standard output: {reason(e)}"
        elif e.filename is not None:  # e.g. a directory a command creates
            message = format_error(reason(e), Span(shown(e.filename), 0, 0))
        else:
            raise
        _report(message)
        return 1


class _WatchedStdout:
    """sys.stdout while a command runs, remembering the error a write or flush raised: main
    tells a failing stdout from any other OSError by it."""

    def __init__(self, stream):
        self._stream = stream
        self.failed = None

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as e:
            self.failed = e
            raise

    def flush(self):
        try:
            return self._stream.flush()
        except OSError as e:
            self.failed = e
            raise

    def __getattr__(self, name):  # isatty, fileno, encoding, buffer, ...
        return getattr(self._stream, name)


def _report(text: str) -> None:
    """An error for the user on stderr, unless stderr itself is closed or broken."""
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (AttributeError, OSError):
        pass


def _silence_stdout() -> None:
    """Point the broken stdout at /dev/null, so that the interpreter's own flush at exit does
    not fail once more (the recipe of Python's documentation for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
