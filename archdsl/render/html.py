"""The explorable diagram (`archdsl render -o NET.html`): one self-contained HTML page holding
graphviz's own SVG of several views of a network (the whole network, and each collapsed scope
opened ahead of time), with a small hand-written viewer (`assets/viewer.js`, `.css`): pan and
zoom, the scope tree as an outline, a click on a collapsed scope opens its view, hover or click
on a node shows its op, arguments, shape, params and FLOPs, a search box finds a layer by name.
Nothing is fetched when the page is opened: the SVG, the metadata, the script and the style
are all inline.

`page()` takes plain data only (SVG text and dicts) and knows nothing of DOT, graphviz or the
IR; `network_page()` gathers that data: the views planned and the node table by view.py, their
DOT by dot.py, all of them laid out by one `dot` process.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Optional

from .. import analysis
from . import dot, view


@dataclass
class PageView:
    """One picture of the page: graphviz's SVG plus how to read it back.

    `scope` is the scope path the view opens ("" for the whole network); `nodes` maps each
    drawn node's graphviz name (the `<title>` of its `<g class="node">`) to the key of its
    entry in the page's node table; `clusters` maps each cluster's graphviz name to its scope
    path; `outside` lists the graphviz names of the nodes drawn as outside the view's scope
    (a search shows a node where it is drawn as itself first)."""
    scope: str
    title: str
    svg: str
    nodes: dict = field(default_factory=dict)
    clusters: dict = field(default_factory=dict)
    outside: list = field(default_factory=list)


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
    return resources.files("archdsl.render").joinpath("assets", name).read_text("utf-8")


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
                   "clusters": v.clusters, "outside": v.outside} for v in views],
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


def network_views(g, depth: Optional[int] = None, root: Optional[str] = None,
                  rankdir: str = "TB", annotate=("shapes",),
                  dot_path: Optional[str] = None) -> list:
    """The PageViews of `g`'s page: the first is `root` (None: the whole network) at `depth`
    (None: every op), then come those view.plan_views adds; `rankdir` and `annotate` apply to
    every view. All laid out by one run of graphviz's dot (`dot_path`, else found on PATH)."""
    dot_path = dot_path or dot.require_dot("the HTML page")
    plan = view.plan_views(g, depth, root)
    views = view.Views(g)
    built = [views.build(d, scope or None) for scope, d in plan]
    sources = [dot.view_to_dot(v, rankdir=rankdir, annotate=annotate) for v in built]
    pages = []
    for (scope, _), drawn, svg in zip(plan, built, dot.run_dot_svgs(sources, dot_path)):
        nodes = {k: (it.members[0] if it.kind == "external" else k)
                 for k, it in drawn.items.items()}
        clusters = {"cluster_" + s: s for it in drawn.items.values() for s in it.scope}
        outside = [k for k, it in drawn.items.items() if it.kind == "external"]
        pages.append(PageView(scope, scope or drawn.name, svg, nodes, clusters, outside))
    return pages


def network_page(g, depth: Optional[int] = None, root: Optional[str] = None,
                 rankdir: str = "TB", annotate=("shapes",), dot_path: Optional[str] = None,
                 views: Optional[list] = None) -> str:
    """The HTML page of `g` (or of its scope `root`): network_views' views (or `views`, as it
    made them), the node table and scope tree of view.py, the header's totals."""
    if views is None:
        views = network_views(g, depth, root, rankdir, annotate, dot_path)
    name = g.graph.get("name", "network")
    return page(name + (f" \u2014 {root}" if root else ""), views, view.node_table(g, root),
                view.scope_tree(g, root), _totals(g, root))


def _totals(g, root: Optional[str]) -> dict:
    """The header's figures: the network's (params as the summary counts them, aux heads
    included; FLOPs of inference, without them), or those of scope `root`."""
    if root is None:
        t = analysis.totals(g)
        outputs = g.graph.get("outputs", ())
        return {"params": t["params"], "flops": t["flops"],
                "shape": list(g.nodes[outputs[0]]["shape"]) if outputs else []}
    scopes = g.graph.get("scopes", {})
    whole = view.build_view(g, view.scope_level(root, scopes) - 1).items[root]
    return {"params": whole.params, "flops": whole.flops, "shape": list(whole.shape)}
