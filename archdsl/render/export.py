"""Writing a diagram or its data, the format taken from the file's suffix: pictures (.svg,
.png, .pdf, through graphviz's `dot`), the explorable page (.html, html.py), DOT source
(.dot), and the view as graph data (.graphml, networkx node-link .json). Every file is
written atomically and never over an existing one without --force. Also the pictures as text
for a caller that shows them itself (`to_svg`, `to_html`: notebooks)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import networkx as nx

from ..errors import ArchError
from ..files import atomic_write
from . import html
from .dot import INSTALL_HINT, LARGE_LAYOUT, find_dot, layout_load, require_dot, run_dot, \
    run_dot_svgs, view_to_dot
from .view import build_view, family, plain, resolve_depth

PICTURE_FORMATS = ("svg", "png", "pdf")
FORMATS = PICTURE_FORMATS + ("html", "dot", "graphml", "json")


def to_data(g, depth: Optional[int] = None, root: Optional[str] = None,
            scalars: bool = False) -> nx.DiGraph:
    """The view as a plain networkx graph whose attributes are JSON values (`scalars=True`:
    strings, numbers and booleans only, as GraphML requires; lists and dicts become JSON).
    Its edges are the IR's own: a bus (view.py) is a way of drawing, not of storing."""
    view = build_view(g, depth, root, buses=False)

    def conv(v):
        v = plain(v)
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


def output_format(path: str) -> str:
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ArchError(f"cannot tell the format of {path!r} from its suffix "
                        f"(use one of {', '.join('.' + f for f in FORMATS)})")
    return fmt


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
    if fmt == "html":
        views = html.network_views(g, depth, root, rankdir, annotate)
        text = html.network_page(g, depth, root, views=views)
        atomic_write(path, text, force=force)
        first = build_view(g, depth, root)
        return {"path": str(path), "format": fmt, "views": len(views),
                "nodes": len(first.items), "edges": len(first.edges), "depth": first.depth,
                "max_depth": first.max_depth, "bytes": len(text.encode("utf-8"))}
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
    if dot is None:  # nothing is written: the only file named is the picture
        fallback = Path(path).with_suffix(".dot")
        raise ArchError(f"graphviz's `dot` is not installed (not found on PATH), so {path} "
                        f"was not drawn and nothing was written. {INSTALL_HINT} and run this "
                        f"again, or write the DOT source with -o {fallback} (-o - prints it) "
                        f"and draw it elsewhere with `dot -T{fmt}`.")
    atomic_write(path, lambda tmp: run_dot(source, fmt, tmp, dot), force=force)
    return info


def to_svg(g, depth="auto", root: Optional[str] = None, rankdir: str = "TB",
           annotate=("shapes",)) -> str:
    """The SVG text of the diagram of `g` (depth "auto", "full" or a level, as `render
    --depth` takes it), laid out by graphviz's dot."""
    dot = require_dot("the SVG picture")
    drawn = build_view(g, resolve_depth(g, depth, root), root)
    return run_dot_svgs([view_to_dot(drawn, rankdir=rankdir, annotate=annotate)], dot)[0]


def to_html(g, depth="auto", root: Optional[str] = None, rankdir: str = "TB",
            annotate=("shapes",)) -> str:
    """The explorable page of `g` (html.py) as text, its first view at `depth`."""
    return html.network_page(g, resolve_depth(g, depth, root), root, rankdir, annotate)
