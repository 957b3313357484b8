"""Diagrams: the IR drawn as graphviz DOT, one cluster per scope, collapsible to any depth, and
the same view as graph data (GraphML, networkx node-link JSON). Never imports torch; pictures
(.svg, .png, .pdf) come from graphviz's `dot`, run as a subprocess.

Depth: scopes nest (`inception3a` > `inception3a.branch2` > `inception3a.branch2.0`); a scope's
level is its position in that nesting, counting from 1. At depth D every scope of level <= D is
a cluster and every scope of level D + 1 is drawn as one node (its kind, output shape and
aggregated params and flops). Depth 0 collapses every top-level scope; a depth at or beyond the
deepest level draws every primitive op.
"""
from __future__ import annotations

import html
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import networkx as nx

from . import analysis, ir, ops, processes
from .errors import ArchError
from .files import atomic_write

# The default depth is the deepest one whose picture has at most this many nodes (README,
# "Diagrams": measured on the zoo, a diagram beyond ~120 boxes no longer fits a screen at a
# readable size, and the step to the next depth usually multiplies the count by 3 to 10).
AUTO_MAX_NODES = 120
# ... and at most this many edges: DenseNet's blocks at layer depth have few nodes but
# quadratically many edges, a tangle at any size.
AUTO_MAX_EDGES = 160

# Beyond this layout load (nodes plus the virtual nodes dot threads long edges through, see
# layout_load), a diagram is drawn in "large" mode: edge labels become xlabels, placed after
# layout instead of adding a rank of their own, and dot's iteration limits are lowered.
# Measured (README, "Diagrams"): DenseNet-121 at depth 2 (138 nodes, ~7,600 virtual) took
# 95 s with labels and 16 s without; below ~3,000 labels cost a few seconds at most.
LARGE_LAYOUT = 4000
# Beyond this load dot takes minutes (DenseNet-169 at full depth, ~87,000: 48 s; DenseNet-201,
# ~183,000: 200 s); the command says so before it starts.
SLOW_LAYOUT = 50000
LARGE_GRAPH_ATTRS = 'nslimit=2, nslimit1=2, mclimit=0.2, remincross=false'

PICTURE_FORMATS = ("svg", "png", "pdf")
FORMATS = PICTURE_FORMATS + ("dot", "graphml", "json")
ANNOTATIONS = ("shapes", "params", "flops")

# Fill colours per op family (ops.Op.family): light enough for black text, distinct in hue.
FAMILY_COLOURS = {
    "conv": "#a5d8ff",        # blue
    "norm": "#ffec99",        # yellow
    "activation": "#b2f2bb",  # green
    "pool": "#ffc078",        # orange
    "fc": "#d0bfff",          # violet
    "other": "#e9ecef",       # grey
    "merge": "#495057",       # dark grey, white text: small round junctions
}
SCOPE_COLOUR = "#fcc2d7"      # a collapsed scope (pink), so it never reads as an op
CLUSTER_FILLS = ("#f8f9fa", "#f1f3f5", "#e9ecef", "#f8f9fa")
MERGE_SYMBOLS = {"add": "+", "mul": "\u00d7", "mean": "mean", "concat": "concat"}
FONT = "Helvetica"


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


def count_nodes(g, depth, root=None) -> int:
    """How many nodes a diagram of `g` at `depth` draws."""
    return view_size(g, depth, root)[0]


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


# --------------------------------------------------------------------------- labels


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


def _kernel(v) -> str:
    if v is None:
        return ""
    h, w = ops.pair(v)
    return f"{h}\u00d7{w}"


def _stride(v) -> str:
    if v is None:
        return ""
    h, w = ops.pair(v)
    return "" if (h, w) == (1, 1) else (f" s{h}" if h == w else f" s{h}\u00d7{w}")


def describe(op: str, args: dict) -> str:
    """A short text for an op and its arguments: `conv 3×3 s2 g32 → 128`, `maxpool 3×3 s2`."""
    a = args or {}
    if op == "conv":
        text = f"conv {_kernel(a.get('k', 1))}{_stride(a.get('s', 1))}"
        if a.get("d", 1) not in (1, [1, 1]):
            text += f" d{a['d']}"
        if a.get("groups", 1) != 1:
            text += f" g{a['groups']}"
        if a.get("table") is not None:
            text += " table"
        return f"{text} \u2192 {a.get('out')}"
    if op in ("maxpool", "avgpool"):
        return f"{op} {_kernel(a.get('k'))}{_stride(a.get('s', a.get('k')))}"
    if op == "fc":
        return f"fc \u2192 {a.get('out')}"
    if op == "adaptive_avgpool":
        return f"adaptive avgpool {a.get('h')}\u00d7{a.get('w') or a.get('h')}"
    if op in ("dropout", "drop_path"):
        return f"{op} {a.get('p')}"
    spec = ops.lookup(op)
    shown = []
    if spec is not None:
        for p in spec.params:
            if p.default is ops.REQUIRED and p.name in a:
                shown.append(ops.show(a[p.name]))
    return " ".join([op.replace("_", " ")] + shown)


def family(op: str) -> str:
    if op == "input":
        return "input"
    spec = ops.lookup(op)
    return spec.family if spec is not None else "other"


def _local(path: str, scope: tuple) -> str:
    parent = scope[-1] + "." if scope else ""
    return path[len(parent):] if parent and path.startswith(parent) else path


def _is_positional(name: str) -> bool:
    return name.isdigit() or "#" in name


def _title(path: str, scope: tuple) -> str:
    """The name to print for `path` inside the clusters `scope`: its own name, or for a
    positional one (`0`, `1`) its path from the enclosing cluster's parent (`branch2.0`,
    `layer1.0`), so that it still says where it is."""
    local = _local(path, scope)
    if not _is_positional(local):
        return local
    return _local(path, scope[:-1]) if scope else path


def _costs(item: Item, annotate) -> str:
    parts = []
    if "params" in annotate and item.params:
        parts.append(f"{fmt_count(item.params)} params")
    if "flops" in annotate and item.flops:
        parts.append(f"{fmt_count(item.flops)} flops")
    return " \u00b7 ".join(parts)


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _node_attrs(item: Item, annotate) -> dict:
    """Graphviz attributes of one drawn node (label as an HTML-like label)."""
    a: dict = {}
    if item.kind == "external":
        a.update(shape="box", style="dotted,rounded", color="#868e96", fontcolor="#495057",
                 label=f"<{_html(item.members[0])}  <I>{_html(item.op)}</I>>")
        return a
    if item.kind == "scope":
        name = _title(item.key, item.scope)
        lines = [f"<B>{_html(name)}</B>  <I>{_html(item.op)}</I>", _html(fmt_shape(item.shape))]
        cost = " \u00b7 ".join(x for x in (f"{fmt_count(item.params)} params",
                                            f"{fmt_count(item.flops)} flops"))
        lines.append(_html(cost))
        a.update(shape="box", style="rounded,filled,bold", fillcolor=SCOPE_COLOUR,
                 label="<" + "<BR/>".join(lines) + ">")
    elif item.op == "input":
        a.update(shape="box", style="bold,rounded", fillcolor="white",
                 label=f"<<B>input</B><BR/>{_html(fmt_shape(item.shape))}>")
    elif family(item.op) == "merge":
        sym = MERGE_SYMBOLS.get(item.op, item.op)
        big = len(sym) == 1
        a.update(shape="circle" if big else "box", style="filled,rounded", fixedsize="false",
                 fillcolor=FAMILY_COLOURS["merge"], fontcolor="white", color="#343a40",
                 width="0.3", height="0.3", margin="0.02,0.01",
                 fontsize="14" if big else "9", label=f"<<B>{_html(sym)}</B>>")
        cost = _costs(item, annotate)
        if cost:
            a["xlabel"] = cost
        if not _is_positional(_local(item.key, item.scope)):
            a["xlabel"] = (_local(item.key, item.scope) + ("  " + cost if cost else ""))
    else:
        local = _local(item.key, item.scope)
        lines = []
        desc = _html(describe(item.op, item.args))
        if _is_positional(local):
            # unnamed: name it only when it holds weights (its path is a state_dict prefix)
            lines.append(f"<B>{_html(_title(item.key, item.scope))}</B>  {desc}"
                         if item.params else desc)
        elif local == item.op:
            lines.append(desc)
        else:
            lines.append(f"<B>{_html(local)}</B>  {desc}")
        cost = _costs(item, annotate)
        if cost:
            lines.append(f'<FONT POINT-SIZE="8">{_html(cost)}</FONT>')
        a.update(shape="box", style="rounded,filled",
                 fillcolor=FAMILY_COLOURS.get(family(item.op), FAMILY_COLOURS["other"]),
                 label="<" + "<BR/>".join(lines) + ">")
    if item.aux:
        a["style"] = a["style"] + ",dashed"
    return a


def _quote(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs(a: dict) -> str:
    out = []
    for k, v in a.items():
        v = str(v)
        out.append(f"{k}={v}" if v.startswith("<") and v.endswith(">") else f"{k}={_quote(v)}")
    return "[" + ", ".join(out) + "]"


# --------------------------------------------------------------------------- DOT


def to_dot(g, depth: Optional[int] = None, root: Optional[str] = None, rankdir: str = "TB",
           annotate=("shapes",)) -> str:
    """DOT source of the network at `depth` (None: every op), optionally only scope `root`."""
    view = build_view(g, depth, root)
    return view_to_dot(view, rankdir=rankdir, annotate=annotate)


def layout_load(view: View) -> int:
    """Nodes plus an estimate of the virtual nodes dot adds (one per rank an edge crosses,
    ranks taken as longest-path layers): what makes its layout slow."""
    preds: dict = {}
    for e in view.edges:
        preds.setdefault(e.head, []).append(e.tail)
    rank: dict = {}
    for k in view.items:
        rank[k] = max((rank[p] + 1 for p in preds.get(k, ()) if p in rank), default=0)
    spans = sum(max(0, rank[e.head] - rank[e.tail] - 1) for e in view.edges
                if e.tail in rank and e.head in rank)
    return len(view.items) + spans


def is_large(view: View) -> bool:
    return layout_load(view) > LARGE_LAYOUT


def view_to_dot(view: View, rankdir: str = "TB", annotate=("shapes",)) -> str:
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ArchError(f"--rankdir must be TB or LR, got {rankdir!r}")
    bad = [a for a in annotate if a not in ANNOTATIONS]
    if bad:
        raise ArchError(f"unknown annotation {bad[0]!r} (choose from {', '.join(ANNOTATIONS)})")
    large = is_large(view)
    title = view.name + (f" \u2014 {view.root}" if view.root else "")
    title += f"  (depth {view.depth} of {view.max_depth})" if view.depth < view.max_depth else ""
    out = [f"digraph {_quote(view.name)} {{",
           f"  graph [rankdir={rankdir}, fontname={_quote(FONT)}, fontsize=14, "
           f"labelloc=t, labeljust=l, label={_quote(title)}, newrank=true, "
           f"nodesep=0.25, ranksep=0.3, ordering=out"
           + (f", {LARGE_GRAPH_ATTRS}" if large else "") + "];",
           f"  node [fontname={_quote(FONT)}, fontsize=10, penwidth=0.8, margin=\"0.1,0.03\", "
           f"height=0.3];",
           f"  edge [fontname={_quote(FONT)}, fontsize=8, fontcolor=\"#495057\", "
           f"color=\"#495057\", arrowsize=0.6, penwidth=0.8];"]

    # The cluster tree: children (node keys and sub-scopes) in order of first appearance.
    # Aux heads go after the main path, so that dot places them to its right.
    children: dict = {(): []}
    for item in sorted(view.items.values(), key=lambda i: i.aux):
        path = ()
        for s in item.scope:
            child = path + (s,)
            if child not in children:
                children[child] = []
                children[path].append(("cluster", child))
            path = child
        children[path].append(("node", item.key))

    def emit(path: tuple, indent: str):
        for kind, x in children[path]:
            if kind == "node":
                out.append(f"{indent}{_quote(x)} {_attrs(_node_attrs(view.items[x], annotate))};")
                continue
            scope = x[-1]
            info = view.scopes.get(scope, {})
            name = _title(scope, x[:-1])
            kind_ = info.get("kind", "")
            label = f"<<B>{_html(name)}</B>"
            if kind_ == "aux":
                label += "  <I>aux head</I>"
            elif kind_ and kind_ != "group":
                label += f"  <I>{_html(kind_)}</I>"
            label += ">"
            style = "rounded,filled" + (",dashed" if info.get("aux") else "")
            fill = CLUSTER_FILLS[(len(x) - 1) % len(CLUSTER_FILLS)]
            out.append(f"{indent}subgraph {_quote('cluster_' + scope)} {{")
            out.append(f"{indent}  graph [label={label}, style={_quote(style)}, "
                       f"fillcolor={_quote(fill)}, color=\"#adb5bd\", fontsize=11, "
                       f"labeljust=l, margin=8];")
            emit(x, indent + "  ")
            out.append(f"{indent}}}")

    emit((), "  ")
    # Aux edges last: with ordering=out, a node's out-edges are laid out left to right in the
    # order written, so branches keep their source order and aux heads go to the right.
    for e in sorted(view.edges, key=lambda e: e.aux):
        a: dict = {}
        if "shapes" in annotate:
            a["xlabel" if large else "label"] = " " + ", ".join(fmt_shape(s)
                                                               for s in e.shapes) + " "
        if e.aux:
            a["style"] = "dashed"
        out.append(f"  {_quote(e.tail)} -> {_quote(e.head)}" + (f" {_attrs(a)}" if a else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- graph data


def _plain(v):
    """A JSON-able copy of an argument value (tuples to lists, other objects to text)."""
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def to_data(g, depth: Optional[int] = None, root: Optional[str] = None,
            scalars: bool = False) -> nx.DiGraph:
    """The view as a plain networkx graph whose attributes are JSON values (`scalars=True`:
    strings, numbers and booleans only, as GraphML requires; lists and dicts become JSON)."""
    view = build_view(g, depth, root)

    def conv(v):
        v = _plain(v)
        return json.dumps(v) if scalars and isinstance(v, (list, dict)) else v

    def opt(v):
        return "" if v is None and scalars else v

    h = nx.DiGraph()
    h.graph.update(name=view.name, depth=view.depth, max_depth=view.max_depth,
                   root=opt(view.root),
                   input_shape=conv(g.graph.get("input_shape")),
                   inputs=conv(g.graph.get("inputs", [])), outputs=conv(g.graph.get("outputs", [])),
                   aux_outputs=conv(g.graph.get("aux_outputs", [])),
                   scopes=conv({p: {"kind": s.get("kind"), "aux": bool(s.get("aux")),
                                    "span": str(s.get("span") or "")}
                                for p, s in view.scopes.items()}))
    for item in view.items.values():
        a = dict(kind=item.kind, op=item.op, family=family(item.op) if item.kind == "op" else
                 item.kind, shape=conv(list(item.shape)), scope=conv(list(item.scope)),
                 aux=item.aux, params=item.params, flops=item.flops, macs=item.macs,
                 memory=item.memory)
        if item.kind == "op":
            d = g.nodes[item.key]
            a.update(args=conv(item.args), span=str(d.get("span") or ""))
        else:
            a.update(members=conv(item.members))
        h.add_node(item.key, **a)
    for e in view.edges:
        a = dict(shapes=conv([list(s) for s in e.shapes]), aux=e.aux)
        if len(e.ports) == 1:
            a["port"] = e.ports[0]
        h.add_edge(e.tail, e.head, **a)
    return h


# --------------------------------------------------------------------------- writing


def find_dot() -> Optional[str]:
    return shutil.which("dot")


def output_format(path: str) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArchError(f"cannot tell the format of {path!r} from its suffix "
                        f"(use one of {', '.join('.' + f for f in FORMATS)})")
    return fmt


def run_dot(source: str, fmt: str, target: str, dot: str) -> None:
    """Lay out `source` with graphviz into `target` (a picture in format `fmt`)."""
    proc = processes.run([dot, f"-T{fmt}", "-o", target], input=source.encode("utf-8"))
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ArchError(f"graphviz's dot failed (exit {proc.returncode}): {err}")


def write(g, path: str, depth: Optional[int] = None, root: Optional[str] = None,
          rankdir: str = "TB", annotate=("shapes",), force: bool = False) -> dict:
    """Write the diagram (or graph data) of `g` to `path`, its format from the suffix.
    Returns {"path", "format", "nodes", "edges", "depth", "max_depth"}."""
    fmt = output_format(path)
    if fmt in ("graphml", "json"):
        h = to_data(g, depth, root, scalars=(fmt == "graphml"))
        if fmt == "graphml":
            atomic_write(path, lambda tmp: nx.write_graphml(h, tmp), force=force)
        else:
            data = nx.node_link_data(h, edges="edges")
            atomic_write(path, json.dumps(data, indent=1) + "\n", force=force)
        return {"path": str(path), "format": fmt, "nodes": h.number_of_nodes(),
                "edges": h.number_of_edges(), "depth": h.graph["depth"],
                "max_depth": h.graph["max_depth"]}
    view = build_view(g, depth, root)
    source = view_to_dot(view, rankdir=rankdir, annotate=annotate)
    info = {"path": str(path), "format": fmt, "nodes": len(view.items),
            "edges": len(view.edges), "depth": view.depth, "max_depth": view.max_depth,
            "layout_load": layout_load(view)}
    info["large"] = info["layout_load"] > LARGE_LAYOUT
    if fmt == "dot":
        atomic_write(path, source, force=force)
        return info
    dot = find_dot()
    if dot is None:
        fallback = Path(path).with_suffix(".dot")
        atomic_write(fallback, source, force=force)
        raise ArchError(f"graphviz's `dot` is not installed (not found on PATH), so {path} "
                        f"was not drawn; wrote the graph to {fallback} instead. Install "
                        f"graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                        f"install graphviz; conda: conda install graphviz), then run "
                        f"`dot -T{fmt} {fallback} -o {path}` or this command again.")
    atomic_write(path, lambda tmp: run_dot(source, fmt, tmp, dot), force=force)
    return info
