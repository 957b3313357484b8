"""Regenerate the diagrams the README shows (docs/*.png), each with one `archdsl render`
command. (Timings: bench/bench_render.py. docs/googlenet_html.png, the explorable page in a
browser, is the screenshot tests/test_render_html.py writes: `pytest -s` prints its path.)

    python docs/make_diagrams.py                       # rewrite docs/*.png
    python docs/make_diagrams.py --only googlenet.png  # one of them

Needs graphviz's `dot` (Debian: apt-get install graphviz).
"""
from __future__ import annotations

import argparse
import shlex
import sys
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


def render(args: list) -> None:
    from archdsl.cli import main
    print("archdsl render " + " ".join(shlex.quote(str(a)) for a in args), flush=True)
    code = main(["render", *map(str, args)])
    if code:
        raise SystemExit(code)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", metavar="NAME", help="regenerate only this docs/ file")
    a = p.parse_args(argv)
    for name, args in DIAGRAMS:
        if a.only and name != a.only:
            continue
        render([*args, "-o", DOCS / name, "--force"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
