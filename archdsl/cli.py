"""The command line (`archdsl ...`): argument parsing and dispatch to one module per command.

User errors (ArchError, bad arguments) print one located message and exit 1; so do a standard
output that is closed (refused before any work) or fails (a full device), and an
operating-system error naming a file. SIGTERM and SIGHUP unwind like Ctrl-C (exit 128 + the
signal's number). Anything else is a bug and keeps its traceback. The analysis commands
(check, summary, render, eval) never import torch.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys

from . import processes
from .errors import ArchError, Span, format_error
from .files import reason, shown

EPILOG = "Files may be given as zoo:NAME for a network of the zoo shipped with archdsl."


class _Parser(argparse.ArgumentParser):
    """argparse, but bad arguments are an ordinary user error: message, usage, exit 1."""

    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write(f"archdsl: error: {message}\n")
        raise SystemExit(1)


def _shape(text: str) -> list:
    try:
        dims = [int(x) for x in text.replace("x", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W (e.g. 3,224,224), got {text!r}")
    if len(dims) not in (1, 3) or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected C,H,W of positive integers, got {text!r}")
    return dims


def _define(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="archdsl", description="A language for convolutional network architectures: "
                "exact costs, PyTorch modules, diagrams and design-rule search.", epilog=EPILOG)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    c = sub.add_parser("check", help="parse and elaborate files; report errors",
                       description="Parse and elaborate every network of each file (those "
                       "whose parameters all have defaults) and report the first error of each.")
    c.add_argument("files", nargs="+", metavar="FILE")
    _max_nodes_arg(c)

    s = sub.add_parser("summary", help="per-layer shapes, params, memory and FLOPs",
                       description="The cost table of a network: output shape, memory (KB, "
                       "float32, one sample), params and FLOPs (multiply-adds) per layer.",
                       epilog=EPILOG)
    _network_args(s)
    s.add_argument("--json", action="store_true", help="print the summary as JSON (DESIGN.md)")
    s.add_argument("--depth", type=int, default=None, metavar="D",
                   help="aggregate rows by their first D path components")

    k = sub.add_parser("compile", help="build the PyTorch module and run one forward pass",
                       description="Build the network as a torch.fx GraphModule, run one "
                       "forward pass on a dummy batch and print a one-line summary; -o writes "
                       "it by suffix (.py source, .pt2 torch.export, .onnx, .pt state_dict).",
                       epilog=EPILOG)
    _network_args(k)
    k.add_argument("-o", "--output", metavar="OUT", help="write .py, .pt2, .onnx or .pt")
    k.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    k.add_argument("--dtype", default="float32", choices=["float32", "float16", "bfloat16"])
    k.add_argument("--channels-last", action="store_true", help="use channels_last memory format")
    k.add_argument("--batch", type=int, default=1, metavar="B", help="dummy batch size")
    k.add_argument("--fuse", action="store_true", help="fold batch norm into convs (eval)")
    k.add_argument("--seed", type=int, default=0, help="initialisation seed (default 0)")
    k.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    k.add_argument("--autocast", action="store_true",
                   help="keep float32 weights and run the forward under torch.autocast "
                   "with --dtype (float16 or bfloat16)")
    k.add_argument("--max-params", type=int, default=2 ** 31, metavar="N",
                   help="refuse networks with more parameters (default 2**31)")
    k.add_argument("--max-memory", type=float, default=64, metavar="GIB",
                   help="refuse networks whose float32 activations for the batch exceed "
                   "this many GiB (default 64)")

    e = sub.add_parser("eval", help="evaluate an expression",
                       description="Evaluate an expression of the language, e.g. "
                       "'solve(9*G*c^2 + 8*G*C*c - 17*C^2 == 0, c)' -D G=4 -D C=64.")
    e.add_argument("expr", metavar="EXPR")
    e.add_argument("-D", dest="defines", action="append", type=_define, default=[],
                   metavar="NAME=VALUE", help="bind NAME to VALUE (an expression)")
    e.add_argument("--file", metavar="FILE", help="evaluate in this file's scope")

    for name in ("render", "zoo", "search"):
        module = _command_module(name)
        if module is not None:
            module.add_parser(sub)
    return p


def _network_args(p):
    p.add_argument("file", metavar="FILE")
    p.add_argument("--network", metavar="N", help="which network of the file")
    p.add_argument("--input", type=_shape, metavar="C,H,W", help="override the input shape")
    _max_nodes_arg(p)


def _positive_int(text: str) -> int:
    try:
        n = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _max_nodes_arg(p):
    p.add_argument("--max-nodes", type=_positive_int, default=None, metavar="N",
                   help="stop elaborating past N ops (default 1,000,000): a guard against "
                   "runaway loops and recursion")


def _command_module(name: str):
    try:
        return importlib.import_module(f"archdsl.commands.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"archdsl.commands.{name}":
            return None
        raise


def _version() -> str:
    from . import __version__
    return __version__


def main(argv=None) -> int:
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
    parser = build_parser()
    args = parser.parse_args(argv)
    stdout, failed = sys.stdout, None
    try:
        with processes.signals_interrupt():
            if stdout is None:  # `>&-`: refuse before the work, not after it
                raise ArchError("standard output is closed; redirect it (>/dev/null) instead")
            if args.command in ("check", "summary", "eval", "compile"):
                module = importlib.import_module(f"archdsl.commands.{args.command}")
            else:
                module = _command_module(args.command)
            sys.stdout = _WatchedStdout(stdout)
            try:
                code = module.run(args) or 0
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
