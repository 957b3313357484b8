"""The diagram's view of the IR: which nodes are drawn (primitive ops, or scopes collapsed
into one node at a depth), the edges between them, and the text each one shows. Pure: reads
the IR and the op registry, knows nothing of graphviz.

Depth: scopes nest (`inception3a` > `inception3a.branch2` > `inception3a.branch2.0`); a scope's
level is its position in that nesting, counting from 1. At depth D every scope of level <= D is
a cluster and every scope of level D + 1 is drawn as one node (its kind, output shape and
aggregated params and flops). Depth 0 collapses every top-level scope; a depth at or beyond the
deepest level draws every primitive op.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .. import analysis, ir, ops
from ..errors import ArchError

# The default depth is the deepest one whose picture has at most this many nodes (README,
# "Diagrams": measured on the zoo, a diagram beyond ~120 boxes no longer fits a screen at a
# readable size, and the step to the next depth usually multiplies the count by 3 to 10).
AUTO_MAX_NODES = 120
# ... and at most this many edges: DenseNet's blocks at layer depth have few nodes but
# quadratically many edges, a tangle at any size.
AUTO_MAX_EDGES = 160

# --------------------------------------------------------------------------- the view


@dataclass
class Item:
    """One drawn node: a primitive op, a collapsed scope, or (for a --scope view) a node
    outside the scope that feeds it or reads from it."""
    key: str
    kind: str                  # "op" | "scope" | "external"
    shape: tuple
    scope: tuple               # the clusters it sits in (scope paths, outermost first)
    aux: bool = False
    op: str = ""               # op name, or the scope's block kind
    args: dict = field(default_factory=dict)
    members: list = field(default_factory=list)  # IR nodes inside (one for an op)
    params: int = 0
    flops: int = 0
    macs: int = 0
    memory: int = 0


@dataclass
class Edge:
    tail: str
    head: str
    shapes: list               # distinct tensor shapes carried (IR sources' output shapes)
    ports: list                # the IR edges' ports (input order at the head)
    aux: bool = False


@dataclass
class View:
    name: str
    depth: int
    max_depth: int
    items: dict                # key -> Item, in execution order
    edges: list
    scopes: dict               # graph.graph["scopes"]
    root: Optional[str] = None


def max_depth(g) -> int:
    """The deepest scope level of the graph (0 for a network without scopes)."""
    return max((len(d.get("scope", ())) for _, d in g.nodes(data=True)), default=0)


def _represent(g, node, depth) -> tuple:
    """(display key, is a collapsed scope) for an IR node at `depth`."""
    scope = tuple(g.nodes[node].get("scope", ()))
    if depth is not None and len(scope) > depth:
        return scope[depth], True
    return node, False


def _in_root(g, node, root) -> bool:
    return root is None or root in g.nodes[node].get("scope", ())


def view_size(g, depth, root=None) -> tuple:
    """(nodes, edges) of the diagram of `g` at `depth` (a scope view's outside nodes and the
    edges to them excluded)."""
    rep = {n: _represent(g, n, depth)[0] for n in g.nodes if _in_root(g, n, root)}
    edges = {(rep[u], rep[v]) for u, v in g.edges if u in rep and v in rep and rep[u] != rep[v]}
    return len(set(rep.values())), len(edges)


def auto_depth(g, root=None, max_nodes: int = AUTO_MAX_NODES,
               max_edges: int = AUTO_MAX_EDGES) -> int:
    """The deepest depth whose diagram has at most `max_nodes` nodes and `max_edges` edges
    (0 if none has)."""
    for d in range(max_depth(g), -1, -1):
        nodes, edges = view_size(g, d, root)
        if nodes <= max_nodes and edges <= max_edges:
            return d
    return 0


def build_view(g, depth: Optional[int] = None, root: Optional[str] = None) -> View:
    """The displayed graph: IR nodes mapped to ops or collapsed scopes, edges merged."""
    scopes = g.graph.get("scopes", {})
    if root is not None and root not in scopes:
        tops = ", ".join(p for p in scopes if "." not in p) or "none"
        raise ArchError(f"no scope named {root!r} in {g.graph.get('name')} "
                        f"(top-level scopes: {tops})")
    deepest = max_depth(g)
    if depth is not None and depth < 0:
        raise ArchError(f"--depth must be 0 or more, got {depth}")
    if depth is not None and depth >= deepest:
        depth = None
    items: dict = {}
    rep: dict = {}
    for node in ir.execution_order(g):
        if not _in_root(g, node, root):
            continue
        d = g.nodes[node]
        key, collapsed = _represent(g, node, depth)
        rep[node] = key
        cost = analysis.node_cost(g, node)
        item = items.get(key)
        if item is None:
            if collapsed:
                level = tuple(d.get("scope", ()))[:depth + 1]
                info = scopes.get(key, {})
                item = Item(key, "scope", tuple(d["shape"]), level[:-1],
                            aux=bool(info.get("aux", d.get("aux"))), op=info.get("kind", "scope"))
            else:
                item = Item(key, "op", tuple(d["shape"]), tuple(d.get("scope", ())),
                            aux=bool(d.get("aux")), op=d["op"], args=dict(d.get("args") or {}))
            items[key] = item
        item.members.append(node)
        for f in ("params", "flops", "macs", "memory"):
            setattr(item, f, getattr(item, f) + cost[f])
    # A collapsed scope's shape is that of its output: the last member read from outside it
    # (or returned by the network), else its last member.
    outputs = set(g.graph.get("outputs", ())) | set(g.graph.get("aux_outputs", ()))
    for item in items.values():
        if item.kind == "scope":
            inside = set(item.members)
            leaving = [n for n in item.members
                       if n in outputs or any(s not in inside for s in g.successors(n))]
            item.shape = tuple(g.nodes[(leaving or item.members)[-1]]["shape"])

    edges: dict = {}

    def link(tail, head, src, port, aux):
        if tail == head:
            return
        e = edges.get((tail, head))
        if e is None:
            e = edges[(tail, head)] = Edge(tail, head, [], [], aux)
        shape = tuple(g.nodes[src]["shape"])
        if shape not in e.shapes:
            e.shapes.append(shape)
        e.ports.append(port)

    externals: dict = {}

    def external(node, scope):
        key = f"{node} (outside)"
        if key not in externals:
            externals[key] = Item(key, "external", tuple(g.nodes[node]["shape"]), scope,
                                  aux=bool(g.nodes[node].get("aux")), op=g.nodes[node]["op"],
                                  members=[node])
        return key

    for node in ir.execution_order(g):
        if node not in rep:
            continue
        ins = sorted((dd.get("port", 0), u) for u, _, dd in g.in_edges(node, data=True))
        for port, u in ins:
            tail = rep[u] if u in rep else external(u, ())
            link(tail, rep[node], u, port, bool(g.nodes[node].get("aux")))
        if root is not None:
            for v in g.successors(node):
                if v not in rep:
                    link(rep[node], external(v, ()), node, 0, bool(g.nodes[v].get("aux")))
    if externals:
        # Inputs first, consumers last, so a scope view reads from top to bottom.
        first = {k: v for k, v in externals.items() if any(e.tail == k for e in edges.values())}
        last = {k: v for k, v in externals.items() if k not in first}
        items = {**first, **items, **last}
    return View(g.graph.get("name", "network"), deepest if depth is None else depth, deepest,
                items, list(edges.values()), scopes, root)


# --------------------------------------------------------------------------- text


def fmt_shape(shape) -> str:
    return "\u00d7".join(str(x) for x in shape)


def fmt_count(n: int) -> str:
    """1234 -> 1.23K, 25557032 -> 25.6M: three significant digits."""
    n = int(n)
    for div, unit in ((10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= div:
            v = n / div
            return (f"{v:.3g}" if v < 1000 else f"{v:.0f}") + unit
    return str(n)


def describe(op: str, args: dict) -> str:
    """A short text for an op and its arguments (the registry's label)."""
    return ops.OPS[op].describe(args)


def family(op: str) -> str:
    """The op's colour family in the registry ("other" for what it does not know)."""
    spec = ops.lookup(op)
    return spec.family if spec is not None else "other"


def symbol(op: str) -> str:
    """How a diagram draws a merge: its registry symbol (+, ×, concat), else its name."""
    spec = ops.lookup(op)
    return spec.symbol if spec is not None else op


def local_name(path: str, scope: tuple) -> str:
    parent = scope[-1] + "." if scope else ""
    return path[len(parent):] if parent and path.startswith(parent) else path


def is_positional(name: str) -> bool:
    return name.isdigit() or "#" in name


def display_name(path: str, scope: tuple) -> str:
    """The name to print for `path` inside the clusters `scope`: its own name, or for a
    positional one (`0`, `1`) its path from the enclosing cluster's parent (`branch2.0`,
    `layer1.0`), so that it still says where it is."""
    local = local_name(path, scope)
    if not is_positional(local):
        return local
    return local_name(path, scope[:-1]) if scope else path
