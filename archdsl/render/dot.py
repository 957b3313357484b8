"""DOT: a view (view.py) drawn as graphviz source, one cluster per scope, ops coloured by
their registry family; and running graphviz's `dot` on it as a subprocess."""
from __future__ import annotations

import html
import re
import shutil
from typing import Optional

from .. import processes
from ..errors import ArchError
from .view import Item, View, build_view, describe, display_name, family, fmt_count, fmt_shape, \
    is_positional, local_name, symbol

# Beyond this layout load (nodes plus the virtual nodes dot threads long edges through, see
# layout_load), a diagram is drawn in "large" mode: edge labels become xlabels, placed after
# layout instead of adding a rank of their own, and dot's iteration limits are lowered.
# Measured (README, "Diagrams"): ResNet-1202 at full depth (load ~7,200) takes 4.5 to 14 s
# in large mode and 23 to 36 s in the normal one, alternating on a loaded machine; before
# buses (view.py), DenseNet-121 at depth 2 (~7,600) took 95 s with labels and 16 s without.
# Below ~3,000 labels cost a few seconds at most.
LARGE_LAYOUT = 4000
# Beyond this load dot takes minutes (measured before buses: DenseNet-169 at full depth,
# ~87,000: 48 s; DenseNet-201, ~183,000: 200 s); the command says so before it starts. With
# buses no zoo network comes near it (ResNet-1202 is the heaviest, ~7,200); a graph whose
# merges fan in without a bus (a `mean` of many long edges) still can.
SLOW_LAYOUT = 50000
LARGE_GRAPH_ATTRS = 'nslimit=2, nslimit1=2, mclimit=0.2, remincross=false'

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
BUS_COLOUR = "#1c7ed6"        # a bus (view.py): one bold blue line down a dense block
CLUSTER_FILLS = ("#f8f9fa", "#f1f3f5", "#e9ecef", "#f8f9fa")
FONT = "Helvetica"


# --------------------------------------------------------------------------- node labels


def _costs(item: Item, annotate) -> str:
    parts = []
    if "params" in annotate and item.params:
        parts.append(f"{fmt_count(item.params)} params")
    if "flops" in annotate and item.flops:
        parts.append(f"{fmt_count(item.flops)} flops")
    return " \u00b7 ".join(parts)


def _html(text: str) -> str:
    return html.escape(text, quote=False)


def _node_attrs(item: Item, annotate, bus_head: bool = False) -> dict:
    """Graphviz attributes of one drawn node (label as an HTML-like label); a merge read
    through a bus (`bus_head`) says its number of inputs, which its edges no longer show."""
    a: dict = {}
    if item.kind == "external":
        a.update(shape="box", style="dotted,rounded", color="#868e96", fontcolor="#495057",
                 label=f"<{_html(item.members[0])}  <I>{_html(item.op)}</I>>")
        return a
    if item.kind == "scope":
        name = display_name(item.key, item.scope)
        lines = [f"<B>{_html(name)}</B>  <I>{_html(item.op)}</I>", _html(fmt_shape(item.shape))]
        cost = " \u00b7 ".join(x for x in (f"{fmt_count(item.params)} params",
                                            f"{fmt_count(item.flops)} flops"))
        lines.append(_html(cost))
        a.update(shape="box", style="rounded,filled,bold", fillcolor=SCOPE_COLOUR,
                 label="<" + "<BR/>".join(lines) + ">")
    elif family(item.op) == "input":
        a.update(shape="box", style="bold,rounded", fillcolor="white",
                 label=f"<<B>input</B><BR/>{_html(fmt_shape(item.shape))}>")
    elif family(item.op) == "merge":
        sym = symbol(item.op)
        big = len(sym) == 1
        a.update(shape="circle" if big else "box", style="filled,rounded", fixedsize="false",
                 fillcolor=FAMILY_COLOURS["merge"], fontcolor="white", color="#343a40",
                 width="0.3", height="0.3", margin="0.02,0.01",
                 fontsize="14" if big else "9", label=f"<<B>{_html(sym)}</B>>")
        if bus_head:
            a.update(shape="box", fontsize="9", label=f'<<B>{_html(sym)}</B><BR/><FONT '
                     f'POINT-SIZE="7">{item.fan_in} inputs</FONT>>')
        cost = _costs(item, annotate)
        if cost:
            a["xlabel"] = cost
        if not is_positional(local_name(item.key, item.scope)):
            a["xlabel"] = (local_name(item.key, item.scope) + ("  " + cost if cost else ""))
    else:
        local = local_name(item.key, item.scope)
        lines = []
        desc = _html(describe(item.op, item.args))
        if is_positional(local):
            # unnamed: name it only when it holds weights (its path is a state_dict prefix)
            lines.append(f"<B>{_html(display_name(item.key, item.scope))}</B>  {desc}"
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

    bus_heads = {e.head for e in view.edges if e.bus}

    def node_line(key, indent):
        attrs = _node_attrs(view.items[key], annotate, key in bus_heads)
        return f"{indent}{_quote(key)} {_attrs(attrs)};"

    def emit(path: tuple, indent: str):
        for kind, x in children[path]:
            if kind == "node":
                out.append(node_line(x, indent))
                continue
            scope = x[-1]
            info = view.scopes.get(scope, {})
            name = display_name(scope, x[:-1])
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
        if e.bus:
            a.update(penwidth=2.5, color=BUS_COLOUR, arrowsize=0.5)
        if e.aux:
            a["style"] = "dashed"
        out.append(f"  {_quote(e.tail)} -> {_quote(e.head)}" + (f" {_attrs(a)}" if a else "") + ";")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- the dot process


def find_dot() -> Optional[str]:
    return shutil.which("dot")


INSTALL_HINT = ("Install graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew "
                "install graphviz; conda: conda install graphviz)")


def require_dot(what: str) -> str:
    """graphviz's dot, or an error saying that `what` needs it and how to install it."""
    dot = find_dot()
    if dot is None:
        raise ArchError(f"graphviz's `dot` is not installed (not found on PATH), and {what} is "
                        f"drawn by it. {INSTALL_HINT}, then run this again.")
    return dot


def run_dot(source: str, fmt: str, target: str, dot: str) -> None:
    """Lay out `source` with graphviz into `target` (a picture in format `fmt`)."""
    proc = processes.run([dot, f"-T{fmt}", "-o", target], input=source.encode("utf-8"))
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ArchError(f"graphviz's dot failed (exit {proc.returncode}): {err}")


def run_dot_svgs(sources: list, dot: str) -> list:
    """Lay out several DOT graphs with one `dot` process: their SVG documents, in order (dot
    writes one document per graph of its input; one process saves its start-up per graph)."""
    if not sources:
        return []
    proc = processes.run([dot, "-Tsvg"], input="".join(sources).encode("utf-8"))
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ArchError(f"graphviz's dot failed (exit {proc.returncode}): {err}")
    docs = [d for d in re.split(r"(?=<\?xml )", proc.stdout.decode("utf-8")) if d.strip()]
    if len(docs) != len(sources):
        raise ArchError(f"graphviz's dot wrote {len(docs)} pictures for {len(sources)} graphs")
    return docs
