"""The diagram's view of the IR: which nodes are drawn (primitive ops, or scopes collapsed
into one node at a depth), the edges between them, and the text each one shows. Pure: reads
the IR and the op registry, knows nothing of graphviz.

Depth: scopes nest (`inception3a` > `inception3a.branch2` > `inception3a.branch2.0`); a scope's
level is its position in that nesting, counting from 1. At depth D every scope of level <= D is
a cluster and every scope of level D + 1 is drawn as one node (its kind, output shape and
aggregated params and flops). Depth 0 collapses every top-level scope; a depth at or beyond the
deepest level draws every primitive op.

Buses: a merge whose inputs, in order, are those of another merge of the same associative op
(ops.Merge.associative) plus one more is drawn reading that merge (one "bus" edge, carrying
its output) and its new input, instead of all its inputs. DenseNet's dense block, where the
concat after layer k reads the block's input and layers 1..k, becomes one chain of concats
with one short edge per layer rather than k long ones: the quadratic tangle that made dot take
minutes becomes a linear picture, and it stays true (each input is drawn once, into the first
merge that reads it; the merge's label keeps its real fan-in).
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
    fan_in: int = 0            # an op's number of inputs in the IR


@dataclass
class Edge:
    tail: str
    head: str
    shapes: list               # distinct tensor shapes carried (IR sources' output shapes)
    ports: list                # the IR edges' ports (input order at the head)
    aux: bool = False
    bus: bool = False          # a merge read by the next one: stands for its first len(ports) inputs


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


def _buses(g, ops_drawn) -> dict:
    """head -> tail of every bus (module docstring) among the IR nodes drawn as ops: merge c
    reads merge p's output in place of its inputs but the last, when p is the same associative
    op with the same arguments, its inputs are exactly those (in port order), c has at least
    three inputs (so that the bus stands for two or more edges) and p is not also c's last
    input (which the bus would hide)."""
    by_inputs: dict = {}
    buses: dict = {}
    for node in ir.execution_order(g):
        if node not in ops_drawn:
            continue
        d = g.nodes[node]
        spec = ops.lookup(d["op"])
        if spec is None or spec.merge is None or not spec.merge.associative:
            continue
        inputs = tuple(ir.predecessors(g, node))
        if len(inputs) >= 3:
            p = by_inputs.get((d["op"], inputs[:-1]))
            if p is not None and p != inputs[-1] and g.nodes[p].get("args") == d.get("args"):
                buses[node] = p
        by_inputs.setdefault((d["op"], inputs), node)
    return buses


def _in_links(g, node, buses) -> list:
    """What is drawn into IR node `node`, in port order: (source node, its ports, is a bus),
    one per input, or a bus for all inputs but the last, then the last."""
    ins = sorted((d.get("port", 0), u) for u, _, d in g.in_edges(node, data=True))
    tail = buses.get(node)
    if tail is None:
        return [(u, [port], False) for port, u in ins]
    return [(tail, [port for port, _ in ins[:-1]], True), (ins[-1][1], [ins[-1][0]], False)]


def _representation(g, depth, root) -> tuple:
    """(IR node -> its display key, the IR nodes drawn as ops) for the nodes of the view."""
    rep, ops_drawn = {}, set()
    for n in g.nodes:
        if _in_root(g, n, root):
            rep[n], collapsed = _represent(g, n, depth)
            if not collapsed:
                ops_drawn.add(n)
    return rep, ops_drawn


def view_size(g, depth, root=None, buses: bool = True) -> tuple:
    """(nodes, edges) of the diagram of `g` at `depth` (a scope view's outside nodes and the
    edges to them excluded), as build_view draws it."""
    rep, ops_drawn = _representation(g, depth, root)
    bus = _buses(g, ops_drawn) if buses else {}
    edges = {(rep[u], rep[v]) for v in rep for u, _, _ in _in_links(g, v, bus)
             if u in rep and rep[u] != rep[v]}
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


def build_view(g, depth: Optional[int] = None, root: Optional[str] = None,
               buses: bool = True) -> View:
    """The displayed graph: IR nodes mapped to ops or collapsed scopes, edges merged; with
    `buses`, running merges drawn as buses (module docstring), else every IR edge drawn."""
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
    rep, ops_drawn = _representation(g, depth, root)
    bus = _buses(g, ops_drawn) if buses else {}
    for node in ir.execution_order(g):
        if node not in rep:
            continue
        d = g.nodes[node]
        key, collapsed = rep[node], node not in ops_drawn
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
                            aux=bool(d.get("aux")), op=d["op"], args=dict(d.get("args") or {}),
                            fan_in=g.in_degree(node))
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

    def link(tail, head, src, ports, aux, is_bus=False):
        if tail == head:
            return
        e = edges.get((tail, head))
        if e is None:
            e = edges[(tail, head)] = Edge(tail, head, [], [], aux, is_bus)
        shape = tuple(g.nodes[src]["shape"])
        if shape not in e.shapes:
            e.shapes.append(shape)
        e.ports.extend(ports)

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
        for u, ports, is_bus in _in_links(g, node, bus):
            tail = rep[u] if u in rep else external(u, ())
            link(tail, rep[node], u, ports, bool(g.nodes[node].get("aux")), is_bus)
        if root is not None:
            for v in g.successors(node):
                if v not in rep:
                    link(rep[node], external(v, ()), node, [0], bool(g.nodes[v].get("aux")))
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
