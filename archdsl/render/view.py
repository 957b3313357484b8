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
# ... and at most this many edges: dense connectivity drawn without a bus (a merge that is
# not associative, or DenseNet before buses: 672 edges for 138 nodes at layer depth) is a
# tangle at any size. With buses no zoo network's default depth is bounded by it.
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
    bus: bool = False          # from a merge to the next: stands for the head's first inputs


@dataclass
class View:
    name: str
    depth: int
    max_depth: int
    items: dict                # key -> Item, in execution order
    edges: list
    scopes: dict               # graph.graph["scopes"]
    root: Optional[str] = None


def running_merges(g) -> dict:
    """c -> p for every merge c of `g` that a view may draw as a bus from merge p (module
    docstring): p is the same associative op with the same arguments, its inputs are exactly
    c's but the last (in port order), c has at least three inputs (so that the bus stands for
    two or more edges) and p is not also c's last input (which the bus would hide)."""
    by_inputs: dict = {}
    found: dict = {}
    for node, op in g.nodes(data="op"):
        spec = ops.lookup(op)
        if spec is None or spec.merge is None or not spec.merge.associative:
            continue
        inputs = tuple(ir.predecessors(g, node))
        if len(inputs) >= 3:
            p = by_inputs.get((op, inputs[:-1]))
            if p is not None and p != inputs[-1] and \
                    g.nodes[p].get("args") == g.nodes[node].get("args"):
                found[node] = p
        by_inputs.setdefault((op, inputs), node)
    return found


def _in_links(g, node, buses) -> list:
    """What is drawn into IR node `node`, in port order: (source node, its ports, is a bus),
    one per input, or a bus for all inputs but the last, then the last."""
    ins = sorted((d.get("port", 0), u) for u, _, d in g.in_edges(node, data=True))
    tail = buses.get(node)
    if tail is None:
        return [(u, [port], False) for port, u in ins]
    return [(tail, [port for port, _ in ins[:-1]], True), (ins[-1][1], [ins[-1][0]], False)]


class Views:
    """The views of one graph: its IR nodes indexed once by the scopes around them, so that
    the many views of a page (one per scope of ResNet-1202's 600 blocks) each cost what they
    draw, not the whole graph."""

    def __init__(self, g):
        self.g = g
        self.scopes = g.graph.get("scopes", {})
        # scope path (None: the whole graph) -> [(node, its scope tuple)], execution order
        self._members: dict = {None: [(n, tuple(s)) for n, s in
                                      g.nodes(data="scope", default=())]}
        for n, scope in self._members[None]:
            for s in scope:
                self._members.setdefault(s, []).append((n, scope))
        self.max_depth = max((len(s) for _, s in self._members[None]), default=0)
        self._running = running_merges(g)

    def _buses(self, rep, ops_drawn) -> dict:
        """The buses of a view: the running merges whose two ends it draws as themselves (as
        ops, or as nodes outside its scope)."""
        def itself(n):
            return n in ops_drawn or n not in rep
        return {c: p for c, p in self._running.items() if itself(c) and itself(p)}

    def _representation(self, depth, root) -> tuple:
        """(IR node -> its display key, the IR nodes drawn as ops), both in execution order,
        for the nodes inside scope `root` (all without one); at `depth`, a node inside a scope
        of level depth + 1 is drawn as that scope."""
        rep, ops_drawn = {}, {}
        for n, scope in self._members.get(root, ()):
            if depth is not None and len(scope) > depth:
                rep[n] = scope[depth]
            else:
                rep[n] = ops_drawn[n] = n
        return rep, ops_drawn

    def collapsed(self, depth, root=None) -> list:
        """The scopes the view at `depth` draws collapsed, in execution order."""
        rep, ops_drawn = self._representation(depth, root)
        return list(dict.fromkeys(k for n, k in rep.items() if n not in ops_drawn))

    def size(self, depth, root=None) -> tuple:
        """(nodes, edges) of the view at `depth` as build draws it (a scope view's outside
        nodes and the edges to them excluded)."""
        g = self.g
        rep, ops_drawn = self._representation(depth, root)
        bus = self._buses(rep, ops_drawn)
        edges = {(rep[u], rep[v]) for v in rep for u, _, _ in _in_links(g, v, bus)
                 if u in rep and rep[u] != rep[v]}
        return len(set(rep.values())), len(edges)

    def auto_depth(self, root=None, max_nodes: int = AUTO_MAX_NODES,
                   max_edges: int = AUTO_MAX_EDGES) -> int:
        """The deepest depth whose view has at most `max_nodes` nodes and `max_edges` edges
        (0 if none has)."""
        for d in range(self.max_depth, -1, -1):
            nodes, edges = self.size(d, root)
            if nodes <= max_nodes and edges <= max_edges:
                return d
        return 0

    def build(self, depth: Optional[int] = None, root: Optional[str] = None,
              buses: bool = True) -> View:
        """The displayed graph: IR nodes mapped to ops or collapsed scopes, edges merged; with
        `buses`, running merges drawn as buses (module docstring), else every IR edge."""
        g, scopes = self.g, self.scopes
        if root is not None and root not in scopes:
            tops = ", ".join(p for p in scopes if "." not in p) or "none"
            raise ArchError(f"no scope named {root!r} in {g.graph.get('name')} "
                            f"(top-level scopes: {tops})")
        deepest = self.max_depth
        if depth is not None and depth < 0:
            raise ArchError(f"--depth must be 0 or more, got {depth}")
        if depth is not None and depth >= deepest:
            depth = None
        items: dict = {}
        rep, ops_drawn = self._representation(depth, root)
        bus = self._buses(rep, ops_drawn) if buses else {}
        for node in rep:
            d = g.nodes[node]
            key, collapsed = rep[node], node not in ops_drawn
            cost = analysis.node_cost(g, node)
            item = items.get(key)
            if item is None:
                if collapsed:
                    level = tuple(d.get("scope", ()))[:depth + 1]
                    info = scopes.get(key, {})
                    item = Item(key, "scope", tuple(d["shape"]), level[:-1],
                                aux=bool(info.get("aux", d.get("aux"))),
                                op=info.get("kind", "scope"))
                else:
                    item = Item(key, "op", tuple(d["shape"]), tuple(d.get("scope", ())),
                                aux=bool(d.get("aux")), op=d["op"],
                                args=dict(d.get("args") or {}), fan_in=g.in_degree(node))
                items[key] = item
            item.members.append(node)
            for f in ("params", "flops", "macs", "memory"):
                setattr(item, f, getattr(item, f) + cost[f])
        # A collapsed scope's shape is that of its output: the last member read from outside
        # it (or returned by the network), else its last member.
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

        def external(node):
            key = f"{node} (outside)"
            if key not in externals:
                d = g.nodes[node]
                externals[key] = Item(key, "external", tuple(d["shape"]), (),
                                      aux=bool(d.get("aux")), op=d["op"], members=[node])
            return key

        for node in rep:
            for u, ports, is_bus in _in_links(g, node, bus):
                tail = rep[u] if u in rep else external(u)
                link(tail, rep[node], u, ports, bool(g.nodes[node].get("aux")), is_bus)
        # The nodes outside the scope that read from it, each with what it reads from inside
        # (a merge on a bus reads only its bus and its last input).
        outside = dict.fromkeys(v for n in rep for v in g.successors(n) if v not in rep)
        for v in outside:
            for u, ports, is_bus in _in_links(g, v, bus):
                if u in rep:
                    link(rep[u], external(v), u, ports, bool(g.nodes[v].get("aux")), is_bus)
        if externals:
            # Inputs first, consumers last, so a scope view reads from top to bottom.
            first = {k: v for k, v in externals.items()
                     if any(e.tail == k for e in edges.values())}
            last = {k: v for k, v in externals.items() if k not in first}
            items = {**first, **items, **last}
        return View(g.graph.get("name", "network"), deepest if depth is None else depth,
                    deepest, items, list(edges.values()), scopes, root)


def max_depth(g) -> int:
    """The deepest scope level of the graph (0 for a network without scopes)."""
    return max((len(scope) for _, scope in g.nodes(data="scope", default=())), default=0)


def view_size(g, depth, root=None) -> tuple:
    """(nodes, edges) of the diagram of `g` at `depth`: Views.size."""
    return Views(g).size(depth, root)


def auto_depth(g, root=None, max_nodes: int = AUTO_MAX_NODES,
               max_edges: int = AUTO_MAX_EDGES) -> int:
    """The default depth of a diagram of `g` (or its scope `root`): Views.auto_depth."""
    return Views(g).auto_depth(root, max_nodes, max_edges)


def build_view(g, depth: Optional[int] = None, root: Optional[str] = None,
               buses: bool = True) -> View:
    """The diagram of `g` at `depth` (None: every op), optionally of scope `root`: Views.build."""
    return Views(g).build(depth, root, buses)


def resolve_depth(g, depth, root: Optional[str] = None) -> Optional[int]:
    """A depth as the command line gives it ("auto", "full", None or a level) as build_view
    takes it: a level, or None for every op."""
    if depth == "auto":
        return auto_depth(g, root=root)
    if depth in ("full", None):
        return None
    return depth


# --------------------------------------------------------------------------- several views
# The explorable page (html.py) shows the network and, opened ahead of time, each scope a view
# collapses. Planned here, breadth-first down the scope tree, a whole level at a time while the
# page stays below these bounds; a collapsed scope beyond them shows its figures but has no
# view of its own. Measured (README, "Diagrams"): ResNet-1202, where every one of the 600
# blocks opens (604 views, ~6,600 nodes), builds into 10 MB and opens in Chromium in 0.7 s, a
# view switch 0.1 s; the bounds leave room for about twice that.
MAX_VIEWS = 1000
MAX_VIEW_NODES = 12000


def scope_parent(path: str, scopes: dict) -> str:
    """The scope enclosing scope `path` ("" at the top level)."""
    p = path
    while "." in p:
        p = p.rsplit(".", 1)[0]
        if p in scopes:
            return p
    return ""


def scope_level(path: str, scopes: dict) -> int:
    """A scope's level (1 for a top-level scope): the length of its chain of parents."""
    level = 1
    while True:
        path = scope_parent(path, scopes)
        if not path:
            return level
        level += 1


def _within(path: str, root: Optional[str]) -> bool:
    return root is None or path == root or path.startswith(root + ".")


def scope_tree(g, root: Optional[str] = None) -> list:
    """The scope tree (of `root` and the scopes inside it) in source order: {"path", "name"
    (its path from its parent's), "kind", "parent" ("" at the top or for `root`), "aux"}."""
    scopes = g.graph.get("scopes", {})
    tree = []
    for path, info in scopes.items():
        if not _within(path, root):
            continue
        parent = "" if path == root else scope_parent(path, scopes)
        tree.append({"path": path, "name": path[len(parent) + 1:] if parent else path,
                     "kind": info.get("kind", ""), "parent": parent,
                     "aux": bool(info.get("aux"))})
    return tree


def plan_views(g, depth: Optional[int] = None, root: Optional[str] = None,
               max_views: int = MAX_VIEWS, max_nodes: int = MAX_VIEW_NODES) -> list:
    """(scope, depth) of every view of the page, breadth-first: `root` ("" for the whole
    network) at `depth` (None: every op), then, a level of the scope tree at a time, each scope
    that a planned view collapses, at its own auto depth but at least deep enough to draw its
    children; stops before a level that would pass `max_views` views or `max_nodes` nodes."""
    views = Views(g)
    plan = [(root or "", depth)]
    total = views.size(depth, root)[0]
    frontier = list(plan)
    while frontier:
        wanted = list(dict.fromkeys(k for scope, d in frontier
                                    for k in views.collapsed(d, scope or None)))
        if not wanted or len(plan) + len(wanted) > max_views:
            break
        level = []
        for s in wanted:
            d = max(views.auto_depth(s), scope_level(s, views.scopes))
            level.append((s, d, views.size(d, s)[0]))
        if total + sum(n for _, _, n in level) > max_nodes:
            break
        plan += [(s, d) for s, d, _ in level]
        total += sum(n for _, _, n in level)
        frontier = [(s, d) for s, d, _ in level]
    return plan


def plain(v):
    """A JSON-able copy of an argument value (tuples to lists, other objects to text)."""
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def node_table(g, root: Optional[str] = None) -> dict:
    """Every op and scope the views of `g` (or of its scope `root`) draw, key -> plain facts:
    {"name", "kind" ("op" | "scope" | "input"), "op" (a scope's block kind), "args", "shape",
    "params", "flops", and for an op "inputs" (its inputs' keys in port order), for a scope
    "members" (its number of ops)}; a scope's figures are those of the node it collapses to.
    The ops outside `root` that its views draw as outside nodes are listed as ops."""
    table: dict = {}
    views = Views(g)
    for depth in [*range(views.max_depth), None]:
        for item in views.build(depth, root).items.values():
            key = item.members[0] if item.kind == "external" else item.key
            if key in table:
                continue
            if item.kind == "scope":
                table[key] = {"name": key, "kind": "scope", "op": item.op, "args": {},
                              "shape": list(item.shape), "params": item.params,
                              "flops": item.flops, "members": len(item.members)}
                continue
            d = g.nodes[key]
            cost = analysis.node_cost(g, key)
            table[key] = {"name": key, "kind": "input" if family(d["op"]) == "input" else "op",
                          "op": d["op"], "args": plain(d.get("args") or {}),
                          "shape": list(d["shape"]), "params": cost["params"],
                          "flops": cost["flops"], "inputs": ir.predecessors(g, key)}
    return table


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
