"""Diagram timings, as ratios to ResNet-1202 drawn at full depth in the same run (README,
"Diagrams"): every zoo network at full depth to SVG, and the explorable page of the largest.

    python bench/bench_render.py              # the whole zoo, 3 rounds of the acceptance pair
    python bench/bench_render.py --only densenet264,resnet1202 --rounds 5

Each measure is a whole command, `archdsl render zoo:NAME --depth full -o NAME.svg`, run as
its own process (start-up, loading, view, DOT, graphviz, writing), one at a time. The network
list is `archdsl zoo --json`, so networks added to the zoo are measured too. The baseline is
timed between the others: the acceptance pair (densenet264, resnet1202) alternates for
--rounds rounds, then ResNet-1202 again before, in the middle of and after the sweep of the
zoo; every ratio is to the median of all its times. Then the explorable page (.html) of the
largest networks. Needs graphviz's `dot`.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE = "resnet1202"
CHALLENGER = "densenet264"


def archdsl(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archdsl", *map(str, args)],
                          capture_output=True, text=True)


def zoo_names() -> list:
    proc = archdsl("zoo", "--json")
    if proc.returncode:
        raise SystemExit(proc.stderr)
    return [row["name"] for row in json.loads(proc.stdout)]


def timed(name: str, out: Path, *extra) -> tuple:
    """(seconds, the command's report line) of drawing zoo:NAME into `out`."""
    start = time.perf_counter()
    proc = archdsl("render", f"zoo:{name}", "-o", out, "--force", *extra)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"render zoo:{name} failed:\n{proc.stderr}")
    return seconds, proc.stdout.strip()


def counts(report: str) -> str:
    m = re.search(r"(\d+) nodes, (\d+) edges", report)
    return f"{int(m.group(1)):,} / {int(m.group(2)):,}" if m else ""


def nodes(report: str) -> int:
    m = re.search(r"(\d+) nodes", report)
    return int(m.group(1)) if m else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the acceptance pair (default 3)")
    p.add_argument("--only", metavar="A,B", help="these zoo networks instead of the whole zoo")
    p.add_argument("--top", type=int, default=10, help="rows of the slowest networks (10)")
    p.add_argument("--also", metavar="A,B", default="densenet121,densenet169,densenet201",
                   help="rows for these networks too, if not among the slowest (the dense "
                   "ones that took minutes before buses)")
    p.add_argument("--pages", type=int, default=3,
                   help="build the .html page of this many of the largest (3)")
    a = p.parse_args(argv)
    names = a.only.split(",") if a.only else zoo_names()
    base: list = []
    times: dict = {}
    reports: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def measure(name: str, *extra) -> float:
            seconds, reports[name] = timed(name, tmp / f"{name}.svg", *extra)
            print(f"  {seconds:7.2f} s  {reports[name]}", flush=True)
            if name == BASELINE:
                base.append(seconds)
            return seconds

        print(f"acceptance pair, {a.rounds} rounds:")
        pair = {CHALLENGER: [], BASELINE: []}
        for _ in range(a.rounds):
            for name in (BASELINE, CHALLENGER):
                pair[name].append(measure(name, "--depth", "full"))
        print(f"the zoo ({len(names)} networks) at full depth:")
        measure(BASELINE, "--depth", "full")
        for i, name in enumerate(names):
            if i == len(names) // 2:
                measure(BASELINE, "--depth", "full")
            if name in pair:
                times[name] = statistics.median(pair[name])
                continue
            times[name] = measure(name, "--depth", "full")
        measure(BASELINE, "--depth", "full")
        times[BASELINE] = statistics.median(base)
        slowest = sorted(times, key=times.get, reverse=True)
        largest = sorted(times, key=lambda n: nodes(reports[n]), reverse=True)
        pages = {}
        print(f"pages (.html, default depth) of the {a.pages} largest:")
        for name in largest[:a.pages]:
            seconds, report = timed(name, tmp / f"{name}.html")
            print(f"  {seconds:7.2f} s  {report}", flush=True)
            pages[name] = (seconds, re.search(r"(\d+) views? \(([\d.]+ [KM]B)\)", report))

    ref = statistics.median(base)
    print()
    print(f"{BASELINE} at full depth: median {ref:.2f} s of {len(base)} "
          f"({', '.join(f'{t:.2f}' for t in base)})")
    pair_ratio = statistics.median(pair[CHALLENGER]) / statistics.median(pair[BASELINE])
    print(f"acceptance: {CHALLENGER} / {BASELINE} at full depth, medians of {a.rounds} "
          f"alternating rounds: {pair_ratio:.2f} (target <= 2)")
    print()
    print(f"| network (full depth, .svg) | nodes / edges drawn | time / {BASELINE}'s | time |")
    print("|---|---:|---:|---:|")
    rows = slowest[:a.top] + [n for n in a.also.split(",")
                              if n in times and n not in slowest[:a.top]]
    for name in rows:
        print(f"| `{name}` | {counts(reports[name])} | {times[name] / ref:.2f} | "
              f"{times[name]:.1f} s |")
    print()
    print("| page (`-o NET.html`, default depth) | time / resnet1202's .svg | views | size |")
    print("|---|---:|---:|---:|")
    for name, (seconds, m) in pages.items():
        views, mb = (m.group(1), m.group(2)) if m else ("", "")
        print(f"| `{name}` | {seconds / ref:.2f} | {views} | {mb} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
