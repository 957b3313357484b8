"""Regenerate the diagrams the README shows (docs/*.png), each with one `archdsl render`
command, and optionally time the largest zoo network drawn at full depth.

    python docs/make_diagrams.py            # rewrite docs/*.png
    python docs/make_diagrams.py --largest  # also: time the largest zoo network, full depth

Needs graphviz's `dot` (Debian: apt-get install graphviz).
"""
from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent

# (file under docs/, arguments of `archdsl render`)
DIAGRAMS = [
    ("googlenet.png", ["zoo:googlenet", "--depth", "1"]),
    ("resnet50.png", ["zoo:resnet50"]),
    ("resnet50_layer2.png", ["zoo:resnet50", "--scope", "layer2", "--depth", "full"]),
    ("densenet121_block1.png", ["zoo:densenet121", "--scope", "features.denseblock1",
                                "--depth", "2"]),
]


def render(args: list) -> float:
    from archdsl.cli import main
    print("archdsl render " + " ".join(shlex.quote(str(a)) for a in args), flush=True)
    start = time.perf_counter()
    code = main(["render", *map(str, args)])
    if code:
        raise SystemExit(code)
    return time.perf_counter() - start


def largest_zoo_network() -> tuple:
    """(name, nodes, edges) of the zoo network with the most IR nodes."""
    import archdsl
    from archdsl.errors import ArchError
    zoo = Path(archdsl.__file__).resolve().parent / "zoo"
    best = ("", 0, 0)
    for path in sorted(zoo.glob("*.arch")):
        try:
            g = archdsl.load(f"zoo:{path.stem}").graph
        except ArchError:  # a parametric family file, not a network
            continue
        if g.number_of_nodes() > best[1]:
            best = (path.stem, g.number_of_nodes(), g.number_of_edges())
    return best


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--largest", action="store_true",
                   help="also render the largest zoo network at full depth and print the time")
    p.add_argument("--only", metavar="NAME", help="regenerate only this docs/ file")
    a = p.parse_args(argv)
    for name, args in DIAGRAMS:
        if a.only and name != a.only:
            continue
        render([*args, "-o", DOCS / name, "--force"])
    if a.largest:
        name, nodes, edges = largest_zoo_network()
        with tempfile.TemporaryDirectory() as tmp:
            seconds = render([f"zoo:{name}", "--depth", "full", "-o", Path(tmp) / f"{name}.svg"])
        print(f"largest zoo network: {name}, {nodes} ops, {edges} edges: full depth to SVG "
              f"in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
