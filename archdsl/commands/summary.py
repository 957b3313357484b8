"""`archdsl summary FILE`: the per-layer cost table (as the seed's AlexNet walk-through lays it
out: layer, op, output shape, memory KiB, params, flops) with the totals and the sizes of a
training step for --batch samples of --dtype (tables.py), or JSON."""
from __future__ import annotations

import sys

from .. import tables
from ..analysis import DTYPE_BYTES
from .common import EPILOG, add_network_args, load_network, non_negative_int, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="per-layer shapes, params, memory and FLOPs",
                       description="The cost table of a network: output shape, memory (KiB "
                       "of the output for the batch in the dtype), params and FLOPs "
                       "(multiply-adds, per sample) per layer; then the totals and a training "
                       "step's sizes: input, params, forward/backward (every output and its "
                       "gradient) and their sum (definitions: the README's Summaries).",
                       epilog=EPILOG)
    add_network_args(p)
    p.add_argument("--batch", type=positive_int, default=1, metavar="B",
                   help="samples per batch for the memory figures (default 1)")
    p.add_argument("--dtype", default="float32", choices=tuple(DTYPE_BYTES),
                   help="the number type of the memory figures (default float32)")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON (its fields: docs/design.md, 'summary --json')")
    p.add_argument("--depth", type=non_negative_int, default=None, metavar="D",
                   help="aggregate rows by their first D path components")
    p.set_defaults(run=run)


def print_rich(summary: dict, rows: list) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=tables.title(summary), title_justify="left")
    for col, just in tables.COLUMNS:
        t.add_column(col, justify="left" if just == "<" else "right", no_wrap=True)
    body, total = tables.cells(summary, rows)
    for row in body:
        t.add_row(*row)
    t.add_section()
    t.add_row(*total)
    Console().print(t)


def run(args) -> int:
    net = load_network(args)
    summary = net.summary(batch=args.batch, dtype=args.dtype, depth=args.depth)
    if args.json:
        import json
        print(json.dumps(summary))
        return 0
    rows = summary["layers"]
    if sys.stdout.isatty():
        print_rich(summary, rows)
    else:
        sys.stdout.write(tables.text(summary, rows))
    print(tables.counts_line(summary))
    print("\n".join(tables.size_lines(summary)))
    return 0
