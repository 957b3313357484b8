"""How fast the resource guards refuse runaway work (issue 11, item 5; issue 16, items 9, 12),
against `archdsl check zoo:vgg11_bn` measured side by side.

Each case is a whole command (`python -m archdsl ...`, the interpreter's start included), run
in alternating pairs with the baseline; the figure is the ratio of the medians. The issue's
acceptance for the 1,000,000-conv VGG: under 3 times the baseline (it took 131 s and 1.3 GB
before the loop was refused before it starts).

Run: python bench/bench_guards.py [--rounds N]   (default 5; prints a table)
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ["check", "zoo:vgg11_bn"]

CASES = {  # name -> (file text or None, argv after `archdsl`; FILE is the file's path)
    "vgg([1, 1, 2, 2, 1000000], batch_norm=true)": (
        'use "zoo:vgg"\nnetwork vgg11_bn = vgg([1, 1, 2, 2, 1000000], batch_norm=true)\n',
        ["check", "FILE"]),
    "dense for i in range(8000) { conv(1, k=1) }": (
        "network m { input [3, 8, 8]\n  dense for i in range(8000) { conv(1, k=1) }\n}\n",
        ["check", "FILE"]),
    "r([0], 40): a list of 2^40 shared items in a message": (
        "block r(l, n) { if n > 0 { r([l, l], n - 1) } else { conv(l) } }\n"
        "network m { input [3, 8, 8]; r([0], 40) }\n", ["check", "FILE"]),
    "eval '[[0]*1000000]*1000'": (None, ["eval", "[[0]*1000000]*1000"]),
}


def run(argv) -> float:
    """Seconds of `python -m archdsl ARGV`; it must exit 0 or 1 (a refusal) without a
    traceback."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "archdsl", *argv], capture_output=True,
                          text=True, env=env)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        raise SystemExit(f"{argv}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        run(BASELINE)  # warm the caches (bytecode, Lark's parser cache) once
        for name, (text, argv) in CASES.items():
            path = Path(tmp) / "case.arch"
            if text is not None:
                path.write_text(text)
            argv = [str(path) if a == "FILE" else a for a in argv]
            case, base = [], []
            for i in range(args.rounds):  # alternate which one runs first
                pair = [(case, argv), (base, BASELINE)]
                for times, a in (pair if i % 2 == 0 else pair[::-1]):
                    times.append(run(a))
            rows.append((name, statistics.median(case), statistics.median(base)))
    print(f"{'case':58} {'s':>7} {'vgg11_bn s':>11} {'ratio':>6}")
    for name, c, b in rows:
        print(f"{name:58} {c:7.2f} {b:11.2f} {c / b:6.2f}")


if __name__ == "__main__":
    main()
