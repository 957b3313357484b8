"""Analysis: exact per-op costs (params, flops, macs, memory) and totals, by the cost model
of docs/language.md's "Cost model" section, read from the op registry; and the limits that refuse a
network before the torch backend allocates it. Never imports torch."""
from __future__ import annotations

import math
import os

from . import ir, ops
from .errors import ArchError


def _machine_memory() -> int:
    """Bytes this process may allocate at most: the machine's memory, or less under an
    address-space limit (ulimit -v)."""
    limit = 2 ** 62
    try:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import resource
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            limit = min(limit, soft)
    except (ImportError, OSError, ValueError):
        pass
    return limit


BYTES = 4  # float32
MAX_PARAMS = 2 ** 31
MAX_MEMORY = min(64 * 2 ** 30, _machine_memory())  # bytes a run allocates: run_memory


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


# Bytes per number of the dtypes `summary --dtype` and `compile --dtype` take.
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}


def dtype_bytes(dtype: str) -> int:
    if dtype not in DTYPE_BYTES:
        raise ArchError(f"unknown dtype {dtype!r} (choose from {', '.join(DTYPE_BYTES)})")
    return DTYPE_BYTES[dtype]


def training_sizes(g, batch: int = 1, dtype: str = "float32", rows=None) -> dict:
    """What one training step on `batch` samples holds, in bytes of `dtype` (the README's
    "Summaries" defines each): `input`, the batch; `params`, the trainable parameters;
    `forward_backward`, every op's output (aux heads' too: training runs them) kept for
    the backward pass, and its gradient of the same size; `total`, their sum. Buffers, the
    parameters' gradients and optimizer state are not counted (torchinfo does not either)."""
    width = dtype_bytes(dtype)
    rows = layers(g) if rows is None else rows
    outputs = sum(math.prod(r["shape"]) for r in rows)
    sizes = {"input": math.prod(g.graph["input_shape"]) * batch * width,
             "params": sum(r["params"] for r in rows) * width,
             "forward_backward": 2 * outputs * batch * width}
    sizes["total"] = sizes["input"] + sizes["params"] + sizes["forward_backward"]
    return sizes


def batch_summary(g, batch: int = 1, dtype: str = "float32") -> dict:
    """summary() for a batch in a dtype: each row's (and the total's) `memory` is its output's
    bytes for `batch` samples of `dtype`, and `sizes` the training step's totals; params,
    flops and macs stay per sample, as networks are compared."""
    width = dtype_bytes(dtype)
    s = summary(g)
    for r in s["layers"]:
        r["memory"] = math.prod(r["shape"]) * batch * width
    s["total"] = totals(g, s["layers"])
    s.update(batch=batch, dtype=dtype, sizes=training_sizes(g, batch, dtype, s["layers"]))
    return s


def summary(g) -> dict:
    rows = layers(g)
    return {"network": g.graph["name"], "input": list(g.graph["input_shape"]),
            "layers": rows, "total": totals(g, rows)}


def run_memory(g, batch: int = 1) -> dict:
    """Bytes of float32 tensors one run of `g` on `batch` samples allocates at least (what
    the memory limit reads): the input, the weights and buffers (the module's), every op's
    output (as training keeps them; aux heads excepted, as in the totals) and the largest
    scratch one op makes while it runs (an RBF's x - prototypes). `total` is their sum,
    `largest` the node that needs the most."""
    inputs = set(g.graph["inputs"])
    parts = {"input": 0, "weights": 0, "activations": 0, "scratch": 0}
    largest, most = None, -1  # the node that needs the most (where a refusal points)
    for key in ir.execution_order(g):
        d = g.nodes[key]
        out = math.prod(d["shape"]) * batch * BYTES
        if key in inputs:
            parts["input"] += out
            need = out
        else:
            c = ops.OPS[d["op"]].cost(d["args"], [g.nodes[p]["shape"] for p in
                                                  ir.predecessors(g, key)], d["shape"])
            need = (c.params + c.buffers) * BYTES
            parts["weights"] += need
            if not d.get("aux"):
                parts["activations"] += out
                parts["scratch"] = max(parts["scratch"], c.scratch * batch * BYTES)
                need += out + c.scratch * batch * BYTES
        if need > most:
            largest, most = key, need
    parts["total"] = sum(parts.values())
    parts["largest"] = largest
    return parts


def check_limits(g, max_params=MAX_PARAMS, max_memory=MAX_MEMORY, batch: int = 1):
    """Refuse, before anything is allocated, a network whose parameters or memory (its
    input, weights and buffers, activations and largest scratch for `batch` samples, in
    float32: `run_memory`) exceed the limits."""
    rows = layers(g)
    params = totals(g, rows)["params"]
    if max_params is not None and params > max_params:
        most = max(rows, key=lambda r: r["params"])["name"]  # where the refusal points
        raise ArchError(f"network '{g.graph['name']}' has {params:,} parameters, more than the "
                        f"limit of {max_params:,}; raise it with --max-params (max_params= in "
                        f"Python) if this is intended", g.nodes[most].get("span"))
    if max_memory is not None:
        need = run_memory(g, batch)
        if need["total"] > max_memory:
            parts = ", ".join(f"{what} {need[what] / 2**30:,.1f}" for what in
                              ("input", "weights", "activations", "scratch"))
            raise ArchError(f"network '{g.graph['name']}' needs {need['total'] / 2**30:,.1f} "
                            f"GiB for a batch of {batch} (float32; GiB of {parts}), more than "
                            f"the limit of {max_memory / 2**30:,.1f} GiB; raise it with "
                            f"--max-memory GIB (max_memory= bytes in Python) if this is "
                            f"intended", g.nodes[need["largest"]].get("span"))
    return params
