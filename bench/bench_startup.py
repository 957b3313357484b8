"""Start-up of the analysis path as whole processes: `archdsl summary zoo:resnet152` against
`python -c "import torch"` (target: at most 0.1x), with what the time is made of, each run as
its own process, one of each per round, their order rotating so all see the same load:
Python alone, `import networkx` (the IR's library, all of it: ir.py loads only its graph
classes), `import lark`, `import archdsl.cli` (the command line with every command registered),
and the summary again with the disk cache of parsed files turned off.
Then the modules `summary` imports that take longest (self time, `python -X importtime`,
the median of 5 runs).

Every process runs from bytecode, as an installed package does (pip compiles torch's at
install; an editable archdsl writes its own on the first run): the children's caches go to a
temporary PYTHONPYCACHEPREFIX, and a PYTHONDONTWRITEBYTECODE in the environment is dropped for
them, since with it each start compiles archdsl's ~40 modules from source (about 90 ms here)
while torch's stay compiled.

Run: python bench/bench_startup.py [--rounds N]   (prints tables; nothing is asserted)
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

PY = sys.executable
SUMMARY = [PY, "-m", "archdsl", "summary", "zoo:resnet152"]
RUNS = {
    'python -c "import torch"': [PY, "-c", "import torch"],
    "python -c pass": [PY, "-c", "pass"],
    'python -c "import networkx"': [PY, "-c", "import networkx"],
    'python -c "import lark"': [PY, "-c", "import lark"],
    'python -c "import archdsl.cli"': [PY, "-c", "import archdsl.cli"],
    "archdsl summary zoo:resnet152": SUMMARY,
    # The same with no disk cache of parsed files (parse_cache.py): Lark imported, every
    # shipped file it reads parsed.
    "  the same, ARCHDSL_CACHE_DIR= (no parse cache)": ["env", "ARCHDSL_CACHE_DIR=", *SUMMARY],
}


_PYCACHE = tempfile.TemporaryDirectory(prefix="archdsl-bench-pycache-")
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = _PYCACHE.name


def wall(cmd) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - t


def import_times(runs: int = 5, top: int = 15) -> list:
    """(module, median self time in ms) of the summary process's slowest imports."""
    got: dict = {}
    for _ in range(runs):
        err = subprocess.run([PY, "-X", "importtime", *SUMMARY[1:]], check=True, env=ENV,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True).stderr
        for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", err):
            got.setdefault(m[3], []).append(int(m[1]) / 1000)
    rows = [(name, statistics.median(v)) for name, v in got.items()]
    return sorted(rows, key=lambda r: -r[1])[:top]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    args = p.parse_args()
    names = list(RUNS)
    for cmd in RUNS.values():  # warm the page cache, Lark's parser cache, bytecode
        wall(cmd)
    got = {n: [] for n in names}
    for r in range(args.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            got[n].append(wall(RUNS[n]))
    torch = statistics.median(got[names[0]])
    print(f"{args.rounds} rounds; seconds, median (min); ratio of medians to import torch")
    for n in names:
        med = statistics.median(got[n])
        print(f"{n:48} {med:7.3f} ({min(got[n]):6.3f})  {med / torch:6.3f}")
    print("\nslowest imports of `archdsl summary zoo:resnet152` (self time, ms, median of 5):")
    for name, ms in import_times():
        print(f"  {name:44} {ms:7.1f}")


if __name__ == "__main__":
    main()
