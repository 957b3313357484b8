"""Analysis: exact per-op costs (params, flops, macs, memory) and totals, by the cost model
of LANGUAGE.md, read from the op registry. Never imports torch."""
from __future__ import annotations

import math

from . import ir, ops

BYTES = 4  # float32


def node_cost(g, key) -> dict:
    d = g.nodes[key]
    if d["op"] == "input":
        return {"params": 0, "flops": 0, "macs": 0, "memory": math.prod(d["shape"]) * BYTES}
    op = ops.OPS[d["op"]]
    in_shapes = [g.nodes[p]["shape"] for p in ir.predecessors(g, key)]
    c = op.cost(d["args"], in_shapes, d["shape"])
    return {"params": c.params, "flops": c.flops, "macs": c.macs,
            "memory": math.prod(d["shape"]) * BYTES}


def layers(g) -> list:
    """One row per primitive op, in execution order (the input excluded)."""
    rows = []
    for key in ir.execution_order(g):
        d = g.nodes[key]
        if d["op"] == "input":
            continue
        row = {"name": key, "op": d["op"], "shape": list(d["shape"]), **node_cost(g, key)}
        if d.get("aux"):
            row["aux"] = True
        rows.append(row)
    return rows


def totals(g, rows=None) -> dict:
    """Totals describe inference: aux heads add params but not flops, macs or memory."""
    rows = layers(g) if rows is None else rows
    t = {"params": 0, "flops": 0, "macs": 0, "memory": 0}
    for r in rows:
        t["params"] += r["params"]
        if not r.get("aux"):
            t["flops"] += r["flops"]
            t["macs"] += r["macs"]
            t["memory"] += r["memory"]
    return t


def aggregate(rows: list, depth: int, scopes=None) -> list:
    """Rows grouped by their first `depth` path components (summary --depth); a group's op is
    its scope's block kind (from graph.graph["scopes"])."""
    scopes = scopes or {}
    out: dict = {}
    for r in rows:
        parts = r["name"].split(".")
        key = ".".join(parts[:depth]) if depth > 0 else r["name"]
        if key not in out:
            kind = scopes.get(key, {}).get("kind", "scope")
            out[key] = {"name": key, "op": r["op"] if key == r["name"] else kind,
                        "shape": r["shape"], "params": 0, "flops": 0, "macs": 0, "memory": 0}
            if r.get("aux"):
                out[key]["aux"] = True
        agg = out[key]
        agg["shape"] = r["shape"]
        for f in ("params", "flops", "macs", "memory"):
            agg[f] += r[f]
    return list(out.values())


def summary(g) -> dict:
    rows = layers(g)
    return {"network": g.graph["name"], "input": list(g.graph["input_shape"]),
            "layers": rows, "total": totals(g, rows)}
