"""`archdsl summary FILE`: the per-layer cost table (as the seed's AlexNet walk-through lays it
out: layer, op, output shape, memory KB, params, flops) with totals, or JSON."""
from __future__ import annotations

import json
import sys

from .. import analysis
from .common import EPILOG, add_network_args, load_network, non_negative_int

COLUMNS = (("layer", "<"), ("op", "<"), ("output", "<"), ("memory KB", ">"), ("params", ">"),
           ("flops", ">"))


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help="per-layer shapes, params, memory and FLOPs",
                       description="The cost table of a network: output shape, memory (KB, "
                       "float32, one sample), params and FLOPs (multiply-adds) per layer.",
                       epilog=EPILOG)
    add_network_args(p)
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON (its fields: docs/design.md)")
    p.add_argument("--depth", type=non_negative_int, default=None, metavar="D",
                   help="aggregate rows by their first D path components")
    p.set_defaults(run=run)


def _kb(n: int) -> str:
    kb = n / 1024
    return f"{kb:,.2f}".rstrip("0").rstrip(".") if kb % 1 else f"{int(kb):,}"


def table_rows(summary: dict, rows: list) -> tuple:
    body = [(r["name"] + (" (aux)" if r.get("aux") else ""), r["op"],
             "x".join(map(str, r["shape"])), _kb(r["memory"]), f"{r['params']:,}",
             f"{r['flops']:,}") for r in rows]
    tot = summary["total"]
    total = ("total", "", "", _kb(tot["memory"]), f"{tot['params']:,}", f"{tot['flops']:,}")
    return body, total


def print_rich(summary: dict, rows: list) -> None:
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"{summary['network']}  input {summary['input']}", title_justify="left")
    for col, just in COLUMNS:
        t.add_column(col, justify="left" if just == "<" else "right", no_wrap=True)
    body, total = table_rows(summary, rows)
    for row in body:
        t.add_row(*row)
    t.add_section()
    t.add_row(*total)
    Console().print(t)


def print_plain(summary: dict, rows: list) -> None:
    """The same table as aligned text: for pipes and files, and fast on big networks
    (rich takes about a millisecond per row)."""
    body, total = table_rows(summary, rows)
    table = [tuple(c for c, _ in COLUMNS)] + body + [total]
    widths = [max(len(r[i]) for r in table) for i in range(len(COLUMNS))]

    def line(row):
        return "  ".join(f"{cell:{just}{w}}" for cell, (_, just), w in zip(row, COLUMNS, widths))
    rule = "-" * len(line(table[0]))
    out = [f"{summary['network']}  input {summary['input']}", line(table[0]), rule]
    out += [line(r) for r in body] + [rule, line(total)]
    sys.stdout.write("\n".join(out) + "\n")


def run(args) -> int:
    net = load_network(args)
    summary = net.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    rows = summary["layers"]
    if args.depth is not None:
        rows = analysis.aggregate(rows, args.depth, net.graph.graph["scopes"])
    (print_rich if sys.stdout.isatty() else print_plain)(summary, rows)
    tot = summary["total"]
    print(f"params {tot['params']:,}   flops {tot['flops']:,} "
          f"({tot['flops'] / 1e9:.2f} G multiply-adds)   macs {tot['macs']:,}   "
          f"activations {tot['memory'] / 2**20:.1f} MiB per sample (float32)")
    return 0
