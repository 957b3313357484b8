"""`archdsl render FILE`: draw a network with graphviz (.svg, .png, .pdf), build its explorable
page (.html), or write its DOT source (.dot) or graph data (.graphml, .json), at any depth of
its scope tree."""
from __future__ import annotations

import sys

from ..files import check_writable
from ..progress import Progress
from ..render import view
from .common import EPILOG, add_network_args, load_network, output

DESCRIPTION = (
    "Draw a network as a graphviz diagram: one cluster per scope (stem, stage, block, "
    "branch), ops coloured by family (conv blue, norm yellow, activation green, pool orange, "
    "fc violet, merges as small dark junctions), edges labelled with tensor shapes, aux heads "
    "dashed. A merge whose inputs are another's plus one (a dense block's concats) reads that "
    "merge along a bold blue bus and says its number of inputs, so dense blocks draw in "
    "seconds at full depth. The format comes from OUT's suffix: .svg, .png, .pdf (through "
    "graphviz's dot), .html (one self-contained page to explore: pan and zoom, the scope tree, "
    "every collapsed scope opened in a view of its own, each node's op, arguments, shape, "
    "params and FLOPs, a search box), .dot (the source), .graphml or .json (networkx "
    "node-link graph data, with the IR's own edges).")

DEPTH_HELP = (
    "draw scopes down to level D as clusters and collapse each scope of level D+1 into one "
    "node (kind, output shape, params, flops); 0 collapses every top-level scope, 'full' "
    "draws every op. Default 'auto': the deepest level with at most "
    f"{view.AUTO_MAX_NODES} nodes and {view.AUTO_MAX_EDGES} edges for pictures and for the "
    "first view of a page, 'full' for .graphml/.json")


def _depth(text: str):
    if text in ("auto", "full"):
        return text
    try:
        d = int(text)
    except ValueError:
        d = -1
    if d < 0:
        import argparse
        raise argparse.ArgumentTypeError(f"expected a level (0, 1, 2, ...), 'auto' or 'full', "
                                         f"got {text!r}")
    return d


def _annotate(text: str) -> tuple:
    if text.strip() in ("", "none"):
        return ()
    from ..render import dot
    parts = tuple(p.strip() for p in text.split(",") if p.strip())
    for p in parts:
        if p not in dot.ANNOTATIONS:
            import argparse
            raise argparse.ArgumentTypeError(
                f"unknown annotation {p!r} (choose from {', '.join(dot.ANNOTATIONS)}, "
                f"comma-separated, or 'none')")
    return parts


def add_parser(sub) -> None:
    r = sub.add_parser("render", help="draw the network with graphviz (svg, png, pdf, dot, ...)",
                       description=DESCRIPTION, epilog=EPILOG)
    add_network_args(r)
    r.add_argument("-o", "--output", type=output, metavar="OUT",
                   help="where to write: .svg .png .pdf .html .dot .graphml .json (default "
                   "NETWORK.svg in the current directory; '-' prints the DOT source)")
    r.add_argument("--depth", type=_depth, default="auto", metavar="D", help=DEPTH_HELP)
    r.add_argument("--scope", metavar="PATH",
                   help="draw only this scope (e.g. layer2), with the nodes outside it that "
                   "it reads or that read it; for .html, the page's first view, and its "
                   "outline the scopes under it")
    r.add_argument("--rankdir", default="TB", choices=["TB", "LR"],
                   help="top to bottom (default) or left to right (every view of a page)")
    r.add_argument("--annotate", type=_annotate, default=("shapes",), metavar="LIST",
                   help="what to show: shapes (on edges), params, flops (on ops), comma-"
                   "separated, or 'none' (default: shapes; collapsed scopes always show all)")
    r.add_argument("--force", action="store_true", help="overwrite an existing OUT")
    r.set_defaults(run=run)


def run(args) -> int:
    with Progress(f"render {args.file}") as progress:
        return _run(args, progress)


def _run(args, progress) -> int:
    from ..render import dot, export

    progress.stage("elaborating")
    net = load_network(args)
    g = net.graph
    out = args.output or f"{net.name}.svg"
    fmt = "dot" if out == "-" else export.output_format(out)
    if args.depth == "auto" and fmt in ("graphml", "json"):
        depth = None
    else:
        depth = view.resolve_depth(g, args.depth, args.scope)
    chosen = " (auto)" if args.depth == "auto" and fmt not in ("graphml", "json") else ""
    if out == "-":
        sys.stdout.write(dot.to_dot(g, depth, args.scope, args.rankdir, args.annotate))
        return 0
    check_writable(out, args.force)
    if fmt in export.PICTURE_FORMATS + ("html",):
        drawn = view.build_view(g, depth, args.scope)
        if dot.layout_load(drawn) > dot.SLOW_LAYOUT:
            progress.write(f"archdsl: note: {len(drawn.items)} nodes, {len(drawn.edges)} "
                           f"edges spanning many ranks: graphviz may take minutes (--depth or "
                           f"--scope draw less)\n")
    progress.stage("laying out with graphviz's dot" if fmt in export.PICTURE_FORMATS + ("html",)
                   else "writing")
    info = export.write(g, out, depth=depth, root=args.scope, rankdir=args.rankdir,
                        annotate=args.annotate, force=args.force)
    progress.close()
    level = ("full depth" if info["depth"] >= info["max_depth"]
             else f"depth {info['depth']} of {info['max_depth']}")
    what = f"{net.name}{' scope ' + args.scope if args.scope else ''}"
    if fmt == "html":
        views = f"{info['views']} view{'s' if info['views'] != 1 else ''}"
        size = (f"{info['bytes'] / 1e6:.1f} MB" if info["bytes"] >= 1e5
                else f"{info['bytes'] / 1e3:.0f} KB")
        print(f"wrote {info['path']}: {what}, {views} ({size}); the first: {info['nodes']} "
              f"nodes, {info['edges']} edges, {level}{chosen}")
        return 0
    large = ("; large layout: edge labels placed after layout"
             if info.get("large") and "shapes" in args.annotate else "")
    print(f"wrote {info['path']}: {what}, {info['nodes']} nodes, {info['edges']} edges, "
          f"{level}{chosen}{large}")
    return 0
