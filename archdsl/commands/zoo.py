"""`archdsl zoo [--json | --markdown]`: every network of the zoo shipped with the package, with
its input, params, GFLOPs (macs) and the one-line description on its file's first line; the
plain listing ends with the search-space files shipped beside it (`search:NAME`).

A zoo network is a `zoo/NAME.arch` file that defines a network NAME buildable without
arguments; family files (`resnet.arch`, whose `resnet(unit, layers, ...)` needs arguments) are
not listed, their members are. The README's zoo table is the `--markdown` output.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import analysis
from ..elaborate import Elaborator
from ..loader import SPACES, ZOO, Loader
from ..progress import Progress
from ..values import DefValue


def add_parser(sub) -> None:
    p = sub.add_parser("zoo", help="list the networks of the zoo",
                       description="List every network of the zoo shipped with archdsl: input "
                       "shape, parameters, GFLOPs (multiply-adds of convs and fcs, as "
                       "torchvision counts them) and a one-line description. Use one as "
                       "zoo:NAME wherever a FILE is expected.")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print a JSON list")
    fmt.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.set_defaults(run=run)


def _natural(name: str) -> list:
    """resnet18 < resnet34 < resnet101: digits compare as numbers."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.findall(r"\d+|\D+", name)]


def description(path: Path) -> str:
    """The text of a `# ...` comment on the file's first line ("" without one)."""
    with open(path, encoding="utf-8") as f:
        first = f.readline().strip()
    return first[1:].strip() if first.startswith("#") else ""


def zoo_networks(zoo: Path = ZOO, progress=None) -> list:
    """One dict per zoo network, in natural name order: name, input, params, macs, flops,
    description. `progress` (a progress.Progress) advances per file."""
    loader = Loader()
    rows = []
    paths = sorted(zoo.glob("*.arch"), key=lambda p: _natural(p.stem))
    if progress is not None:
        progress.stage("elaborating the networks", total=len(paths))
    for path in paths:
        if progress is not None:
            progress.advance()
        scope = loader.load_path(str(path))
        defn = scope.own.get(path.stem)
        if defn is None or defn.kind != "network":
            continue
        if any(p.default is None for p in getattr(defn, "params", None) or ()):
            continue  # a parametric family, listed through its members
        graph = Elaborator().network(DefValue(defn, scope), defn.span)
        totals = analysis.totals(graph)
        rows.append({"name": path.stem, "input": list(graph.graph["input_shape"]),
                     "params": totals["params"], "macs": totals["macs"],
                     "flops": totals["flops"], "description": description(path)})
    return rows


def search_spaces(root: Path = SPACES) -> list:
    """One dict per search-space file shipped with the package (search:NAME): its name, the
    spaces it defines with their parameters, and its first line's description."""
    loader = Loader()
    rows = []
    for path in sorted(root.glob("*.arch"), key=lambda p: _natural(p.stem)):
        scope = loader.load_path(str(path))
        spaces = [d.name for d in scope.order if d.kind == "space"]
        rows.append({"name": f"search:{path.stem}", "spaces": spaces,
                     "description": description(path)})
    return rows


def gflops(macs: int) -> str:
    g = macs / 1e9
    return f"{g:.2f}" if g >= 0.01 else f"{g:.2g}"


def markdown(rows: list) -> str:
    lines = ["| network | input | params | GFLOPs | description |",
             "|---|---|---:|---:|---|"]
    for r in rows:
        desc = r["description"].replace("|", "\\|")
        lines.append(f"| `{r['name']}` | {'x'.join(map(str, r['input']))} | {r['params']:,} | "
                     f"{gflops(r['macs'])} | {desc} |")
    return "\n".join(lines) + "\n"


def run(args) -> int:
    with Progress("zoo") as progress:
        rows = zoo_networks(progress=progress)
    if args.json:
        import json
        print("[\n" + ",\n".join(json.dumps(r) for r in rows) + "\n]")
        return 0
    if args.markdown:
        print(markdown(rows), end="")
        return 0
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"the archdsl zoo: {len(rows)} networks (use as zoo:NAME)",
              title_justify="left")
    for col, just in (("network", "left"), ("input", "left"), ("params", "right"),
                      ("GFLOPs", "right"), ("description", "left")):
        t.add_column(col, justify=just, no_wrap=col != "description")
    for r in rows:
        t.add_row(r["name"], "x".join(map(str, r["input"])), f"{r['params']:,}",
                  gflops(r["macs"]), r["description"])
    console = Console()
    console.print(t)
    spaces = Table(title="search spaces (archdsl search search:NAME)", title_justify="left")
    for col in ("file", "spaces", "description"):
        spaces.add_column(col, no_wrap=col != "description")
    for r in search_spaces():
        spaces.add_row(r["name"], ", ".join(r["spaces"]), r["description"])
    console.print(spaces)
    return 0
