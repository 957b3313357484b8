"""Analysis: exact per-op costs (params, flops, macs, memory) and totals, by the cost model
of the README's "Cost model" section, read from the op registry; and the limits that refuse a
network before the torch backend allocates it. Never imports torch."""
from __future__ import annotations

import math

from . import ir, ops
from .errors import ArchError

BYTES = 4  # float32
MAX_PARAMS = 2 ** 31
MAX_MEMORY = 64 * 2 ** 30  # bytes of float32 activations: all op outputs, as training keeps


COUNT_LIMIT = 2 ** 63  # every count (elements, params, flops) fits a signed 64-bit integer


def check_counts(op_name: str, args: dict, in_shapes: list, shape: tuple) -> None:
    """Refuse an op whose output elements, parameters or flops do not fit 64 bits (torch's
    sizes and every tool that reads a summary count in int64): `classes=10**30`, or a conv
    on [3, 2**62, 2**62], would otherwise give numbers no network has."""
    elements = math.prod(shape)
    if elements >= COUNT_LIMIT:
        raise ArchError(f"{op_name} output {list(shape)}: {elements:.3g} elements, more "
                        f"than a 64-bit count holds (2^63)")
    c = ops.OPS[op_name].cost(args, in_shapes, shape)
    for what, n in (("parameters", c.params), ("flops", c.flops)):
        if n >= COUNT_LIMIT:
            raise ArchError(f"{op_name}: {n:.3g} {what}, more than a 64-bit count holds "
                            f"(2^63)")


def node_cost(g, key) -> dict:
    d = g.nodes[key]
    op = ops.OPS[d["op"]]
    in_shapes = [g.nodes[p]["shape"] for p in ir.predecessors(g, key)]
    c = op.cost(d["args"], in_shapes, d["shape"])
    return {"params": c.params, "flops": c.flops, "macs": c.macs,
            "memory": math.prod(d["shape"]) * BYTES}


def layers(g) -> list:
    """One row per primitive op, in execution order (the inputs excluded)."""
    rows = []
    inputs = g.graph["inputs"]
    for key in ir.execution_order(g):
        if key in inputs:
            continue
        d = g.nodes[key]
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


def check_limits(g, max_params=MAX_PARAMS, max_memory=MAX_MEMORY, batch: int = 1):
    """Refuse, before anything is allocated, a network whose parameters or float32
    activations (every op's output, for `batch` samples) exceed the limits."""
    total = totals(g)
    params = total["params"]
    if max_params is not None and params > max_params:
        raise ArchError(f"network '{g.graph['name']}' has {params:,} parameters, more than the "
                        f"limit of {max_params:,}; raise it with --max-params (max_params= in "
                        f"Python) if this is intended")
    memory = total["memory"] * batch
    if max_memory is not None and memory > max_memory:
        raise ArchError(f"network '{g.graph['name']}' needs {memory / 2**30:,.1f} GiB of "
                        f"activations for a batch of {batch} (float32), more than the limit of "
                        f"{max_memory / 2**30:,.1f} GiB; raise it with --max-memory GIB "
                        f"(max_memory= bytes in Python) if this is intended")
    return params
