"""What the commands share: the arguments several of them take (FILE, --network, --input,
--max-nodes, --max-params, --max-memory, -D), their parsers and defaults, and loading the
network a command line names. Defaults come from the modules that enforce them, so a limit
is written once."""
from __future__ import annotations

import argparse
import math

from ..analysis import MAX_MEMORY, MAX_PARAMS
from ..elaborate import MAX_NODES
from ..errors import ArchError
from ..names import check_identifier
from ..network import Network, load

EPILOG = "Files may be given as zoo:NAME for a network of the zoo shipped with archdsl."


# ---------------------------------------------------------------------- argument types


def shape(text: str) -> list:
    """C,H,W (or CxHxW, or N) of positive integers."""
    try:
        dims = [int(x) for x in text.replace("x", ",").split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected C,H,W (e.g. 3,224,224), got {text!r}")
    if len(dims) not in (1, 3) or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected C,H,W of positive integers, got {text!r}")
    return dims


def define(text: str):
    """NAME=VALUE, VALUE an expression of the language (evaluated later, in a file's scope);
    NAME a name the language could bind (`-D 1=3`, `-D true=3` would never be read)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    name, value = text.split("=", 1)
    try:
        check_identifier(name.strip())
    except ArchError as e:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, but {e.message}") from None
    return name.strip(), value


def positive_int(text: str) -> int:
    try:
        n = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def non_negative_int(text: str) -> int:
    try:
        n = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got {text!r}") \
            from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or a positive integer, got {text!r}")
    return n


def gib(text: str) -> int:
    """A finite positive number of GiB, as bytes (nan, inf and 1e400 would turn the limit off
    or overflow it)."""
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of GiB, got {text!r}") from None
    if not (math.isfinite(v) and 0 < v * 2 ** 30 < 2 ** 63):
        raise argparse.ArgumentTypeError(f"expected a positive, finite number of GiB, "
                                         f"got {text!r}")
    return int(v * 2 ** 30)


def seed_below(limit: int, top: str):
    """An argparse type: an integer seed in [0, limit), `top` the largest as the message
    writes it (torch takes seeds below 2^64, Optuna's samplers below 2^32)."""
    def seed(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not 0 <= v < limit:
            raise argparse.ArgumentTypeError(f"expected an integer from 0 to {top}, got {text}")
        return v
    return seed


def seed(text: str) -> int:
    """A seed of torch's generator (compile imports torch anyway)."""
    from ..backends.torch_backend import SEED_LIMIT
    return seed_below(SEED_LIMIT, "2^64 - 1")(text)


def output(text: str) -> str:
    """-o OUT: a file name (an empty one would silently write nothing)."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    return text


# ---------------------------------------------------------------------- shared arguments


def add_max_nodes(p) -> None:
    p.add_argument("--max-nodes", type=positive_int, default=None, metavar="N",
                   help=f"stop elaborating past N ops (default {MAX_NODES:,}): a guard against "
                   "runaway loops and recursion")


def add_network_args(p) -> None:
    """FILE [--network N] [--input C,H,W] [--max-nodes N]: one network of a file."""
    p.add_argument("file", metavar="FILE")
    p.add_argument("--network", metavar="N", help="which network of the file")
    p.add_argument("--input", type=shape, metavar="C,H,W", help="override the input shape")
    add_max_nodes(p)


def add_limits(p) -> None:
    """--max-params N and --max-memory GIB: refuse a network before allocating it."""
    p.add_argument("--max-params", type=non_negative_int, default=MAX_PARAMS, metavar="N",
                   help="refuse networks with more parameters (default 2**31)")
    p.add_argument("--max-memory", type=gib, default=MAX_MEMORY, metavar="GIB",
                   help="refuse networks whose float32 tensors for the batch (input, "
                   "weights and buffers, activations, the largest scratch) exceed "
                   f"this many GiB (default: 64, or this machine's memory if less: "
                   f"{MAX_MEMORY / 2 ** 30:.1f})")


def add_defines(p, help: str) -> None:
    p.add_argument("-D", dest="defines", action="append", type=define, default=[],
                   metavar="NAME=VALUE", help=help)


def load_network(args) -> Network:
    """FILE [--network N] [--input C,H,W] as a Network."""
    return load(args.file, network=args.network, input_shape=getattr(args, "input", None),
                max_nodes=getattr(args, "max_nodes", None))
