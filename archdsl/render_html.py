"""The explorable diagram (`archdsl render -o NET.html`): one self-contained HTML page holding
graphviz's own SVG of several views of a network (the whole network, and each collapsed scope
opened ahead of time), with a small hand-written viewer (`render_assets/viewer.js`, `.css`):
pan and zoom, the scope tree as an outline, a click on a collapsed scope opens its view, hover
or click on a node shows its op, arguments, shape, params and FLOPs, a search box finds a layer
by name. Nothing is fetched when the page is opened: the SVG, the metadata, the script and the
style are all inline.

`page()` is the whole of the page's job and takes plain data only (SVG text and dicts), so it
knows nothing of DOT, graphviz or the IR. `from_network()` below, marked as a temporary
adapter, builds that data from render.py's public functions until the render package (issue
12) provides the views and the `dot` runner; the integration replaces that one function.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

# Views are rendered ahead of time, breadth-first down the scope tree, a whole level at a
# time while the page stays below these bounds; a collapsed scope beyond them shows its figures
# but has no view of its own, and the page says so. Measured: ResNet-1202 (every one of its 600
# blocks opens: 604 views, ~6,600 nodes) builds in 8 s into 10 MB and opens in Chromium in
# 0.7 s, a view switch 0.1 s; the bounds leave room for about twice that.
MAX_VIEWS = 1000
MAX_VIEW_NODES = 12000


@dataclass
class PageView:
    """One picture of the page: graphviz's SVG plus how to read it back.

    `scope` is the scope path the view opens ("" for the whole network); `nodes` maps each
    drawn node's graphviz name (the `<title>` of its `<g class="node">`) to the key of its
    entry in the page's node table; `clusters` maps each cluster's graphviz name to its scope
    path."""
    scope: str
    title: str
    svg: str
    nodes: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)


_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_ID_ATTR = re.compile(r'\bid="([^"]*)"')
_ID_REF = re.compile(r'(url\(#|href="#)([^)"]*)')


def _inline_svg(svg: str, prefix: str) -> str:
    """graphviz's SVG document as an element to inline in HTML: its XML prolog, doctype and
    comments dropped, and its ids (`node1`, `clust1`, ... in every view) made unique in the
    page with `prefix`."""
    svg = _PROLOG.sub("", svg, count=1)
    svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)
    svg = _ID_ATTR.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _ID_REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def _asset(name: str) -> str:
    return resources.files("archdsl").joinpath("render_assets", name).read_text("utf-8")


def _script_json(data) -> str:
    """JSON that is safe inside a <script> element (no `</`, no `<!--`)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).replace("<", "\\u003c")


def page(name: str, views: list, nodes: dict, scopes: list, totals: Optional[dict] = None) -> str:
    """The HTML page of one network.

    views: PageView list, the first one shown when the page opens.
    nodes: key -> {"name", "kind" ("op" | "scope" | "input"), "op", "args", "shape", "params",
           "flops", and for an op "inputs": its inputs' keys in argument order; for a scope
           "members": its number of ops} (a scope's op is its block kind, its figures the sums
           over its ops).
    scopes: the scope tree in source order, each {"path", "name", "kind", "parent"} (parent ""
            at the top level); a scope with a view of its own is one whose path is a view's
            `scope`.
    totals: the network's {"params", "flops", "shape"} for the page header."""
    data = {
        "name": name,
        "totals": totals or {},
        "views": [{"scope": v.scope, "title": v.title, "nodes": v.nodes,
                   "clusters": v.clusters} for v in views],
        "nodes": nodes,
        "scopes": scopes,
    }
    svgs = "\n".join(
        f'<template class="archdsl-view">{_inline_svg(v.svg, f"v{i}-")}</template>'
        for i, v in enumerate(views))
    title = html.escape(name)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="archdsl render">
<title>{title}</title>
<style>
{_asset("viewer.css")}
</style>
</head>
<body>
<header id="bar">
  <span id="net-name">{title}</span>
  <span id="net-totals"></span>
  <nav id="crumbs" aria-label="view"></nav>
  <span class="grow"></span>
  <span id="search-box">
    <input id="search" type="search" placeholder="find a layer (name or path)" autocomplete="off"
           aria-label="find a layer">
    <ul id="results" role="listbox" hidden></ul>
  </span>
  <button id="zoom-in" title="zoom in">+</button>
  <button id="zoom-out" title="zoom out">&minus;</button>
  <button id="zoom-fit" title="fit the view (0)">fit</button>
</header>
<main>
  <aside id="outline" aria-label="scopes"></aside>
  <section id="canvas" tabindex="0"></section>
  <aside id="info" aria-live="polite"><p class="hint">Hover or click a node to see its op,
    arguments, shape, params and FLOPs. A pink node is a collapsed scope: click it to open it.
    Drag to pan, wheel to zoom.</p></aside>
</main>
{svgs}
<script type="application/json" id="archdsl-data">{_script_json(data)}</script>
<script>
{_asset("viewer.js")}
</script>
</body>
</html>
"""


# --------------------------------------------------------------------------------------------
# TEMPORARY ADAPTER (issue 17, until issue 12's archdsl/render/ package lands): builds page()'s
# inputs from today's render.py public functions (build_view, view_to_dot, auto_depth, ...)
# and runs graphviz itself. The integration replaces `from_network` with one built on
# render/view.py (the views, the node table) and render/dot.py (DOT text, the `dot` run).
# --------------------------------------------------------------------------------------------


def _level(path: str, scopes: dict) -> int:
    """A scope's level (1 for a top-level scope): the length of its chain of parents."""
    level, p = 1, path
    while "." in p:
        p = p.rsplit(".", 1)[0]
        if p in scopes:
            level += 1
    return level


def plan_views(g, depth: Optional[int] = None) -> list:
    """(scope, depth) of every view to render, breadth-first: the whole network at `depth`
    (default: render's auto depth), then, a level of the scope tree at a time, each scope that
    some planned view collapses, at its own auto depth but at least deep enough to draw its
    children; stops before a level that would pass MAX_VIEWS or MAX_VIEW_NODES."""
    from . import render
    scopes = g.graph.get("scopes", {})
    first = render.auto_depth(g) if depth is None else depth
    plan = [("", first)]
    total = render.count_nodes(g, first)
    frontier = [("", first)]
    while frontier:
        wanted = []
        for root, d in frontier:
            view = render.build_view(g, d, root or None)
            wanted += [k for k, it in view.items.items() if it.kind == "scope"]
        wanted = list(dict.fromkeys(wanted))
        if not wanted or len(plan) + len(wanted) > MAX_VIEWS:
            break
        level = []
        for s in wanted:
            d = max(render.auto_depth(g, root=s), _level(s, scopes))
            level.append((s, d, render.count_nodes(g, d, s)))
        if total + sum(n for _, _, n in level) > MAX_VIEW_NODES:
            break
        plan += [(s, d) for s, d, _ in level]
        total += sum(n for _, _, n in level)
        frontier = [(s, d) for s, d, _ in level]
    return plan


def _plain(v):
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return str(v)


def _node_table(g) -> dict:
    """Every op and every scope of `g` with its figures, as render's views count them (a scope
    as the collapsed node it is drawn as, one build_view per level of the scope tree)."""
    from . import render
    table: dict = {}
    for depth in [*range(render.max_depth(g)), None]:
        for key, it in render.build_view(g, depth).items.items():
            if key in table:
                continue
            kind = "input" if it.op == "input" else it.kind
            table[key] = {"name": key, "kind": kind, "op": it.op,
                          "args": _plain(it.args) if it.kind == "op" else {},
                          "shape": list(it.shape), "params": it.params, "flops": it.flops,
                          "members": len(it.members)}
            if it.kind == "op":
                ins = sorted((d.get("port", 0), u) for u, _, d in g.in_edges(key, data=True))
                table[key]["inputs"] = [u for _, u in ins]
    return table


def _svgs(sources: list, dot: str) -> list:
    """Lay out several DOT graphs with one `dot` process (it writes one SVG document per
    graph, in order)."""
    import subprocess
    from .errors import ArchError
    proc = subprocess.run([dot, "-Tsvg"], input="".join(sources).encode("utf-8"),
                          capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip()
        raise ArchError(f"graphviz's dot failed (exit {proc.returncode}): {err}")
    docs = re.split(r"(?=<\?xml )", proc.stdout.decode("utf-8"))
    docs = [d for d in docs if d.strip()]
    if len(docs) != len(sources):
        raise ArchError(f"graphviz's dot wrote {len(docs)} pictures for {len(sources)} graphs")
    return docs


def from_network(g, depth: Optional[int] = None, rankdir: str = "TB",
                 annotate=("shapes",), dot: Optional[str] = None) -> str:
    """The HTML page of the network `g` (temporary adapter over render.py, see above)."""
    from . import render
    from .errors import ArchError
    dot = dot or render.find_dot()
    if dot is None:
        raise ArchError("graphviz's `dot` is not installed (not found on PATH); the HTML page "
                        "is built from its SVG (Debian/Ubuntu: apt-get install graphviz)")
    scopes = g.graph.get("scopes", {})
    plan = plan_views(g, depth)
    built = [render.build_view(g, d, root or None) for root, d in plan]
    sources = [render.view_to_dot(v, rankdir=rankdir, annotate=annotate) for v in built]
    pages = []
    for (root, _), view, svg in zip(plan, built, _svgs(sources, dot)):
        nodes = {k: (it.members[0] if it.kind == "external" else k)
                 for k, it in view.items.items()}
        clusters = {"cluster_" + s: s for it in view.items.values() for s in it.scope}
        title = root or view.name
        pages.append(PageView(root, title, svg, nodes, clusters))
    tree = [{"path": p, "name": p[len(parent) + 1:] if parent else p, "kind": info.get("kind", ""),
             "parent": parent, "aux": bool(info.get("aux"))}
            for p, info in scopes.items()
            for parent in [_parent(p, scopes)]]
    table = _node_table(g)
    ops = [t for t in table.values() if t["kind"] in ("op", "input")]
    outputs = g.graph.get("outputs", ())
    totals = {"params": sum(t["params"] for t in ops), "flops": sum(t["flops"] for t in ops),
              "shape": list(g.nodes[outputs[0]]["shape"]) if outputs else []}
    return page(g.graph.get("name", "network"), pages, table, tree, totals)


def _parent(path: str, scopes: dict) -> str:
    p = path
    while "." in p:
        p = p.rsplit(".", 1)[0]
        if p in scopes:
            return p
    return ""
