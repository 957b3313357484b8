"""`archdsl summary FILE`: the per-layer cost table (as the seed's AlexNet walk-through lays it
out: layer, op, output shape, memory KB, params, flops) with totals, or JSON."""
from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from .. import analysis
from .common import load_network


def _kb(n: int) -> str:
    kb = n / 1024
    return f"{kb:,.2f}".rstrip("0").rstrip(".") if kb % 1 else f"{int(kb):,}"


def render_table(summary: dict, rows: list) -> Table:
    t = Table(title=f"{summary['network']}  input {summary['input']}", title_justify="left")
    for col, just in (("layer", "left"), ("op", "left"), ("output", "left"),
                      ("memory KB", "right"), ("params", "right"), ("flops", "right")):
        t.add_column(col, justify=just, no_wrap=True)
    for r in rows:
        name = r["name"] + (" (aux)" if r.get("aux") else "")
        t.add_row(name, r["op"], "x".join(map(str, r["shape"])), _kb(r["memory"]),
                  f"{r['params']:,}", f"{r['flops']:,}")
    tot = summary["total"]
    t.add_section()
    t.add_row("total", "", "", _kb(tot["memory"]), f"{tot['params']:,}", f"{tot['flops']:,}")
    return t


def run(args) -> int:
    net = load_network(args)
    summary = net.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    rows = summary["layers"]
    if args.depth is not None:
        rows = analysis.aggregate(rows, args.depth)
    console = Console()
    console.print(render_table(summary, rows))
    tot = summary["total"]
    console.print(f"params {tot['params']:,}   flops {tot['flops']:,} "
                  f"({tot['flops'] / 1e9:.2f} G multiply-adds)   macs {tot['macs']:,}   "
                  f"activations {tot['memory'] / 2**20:.1f} MiB per sample (float32)")
    return 0
