"""The analysis path of two checkouts side by side (a change against the code it changes):
whole-process `archdsl summary` and `archdsl check` of ResNet-152 (with and without Lark's
parser cache) and in-process elaboration plus analysis (best of 20), interleaved pair by
pair so both see the same machine load; prints medians and minimums and their ratios after /
before.

Run: python bench/compare_checkouts.py BEFORE_DIR AFTER_DIR [--rounds N] [--no-bytecode]
Each DIR is a checkout with its own virtual environment in DIR/.venv (nothing is asserted).
Python's bytecode caches are kept in a temporary directory per checkout (PYTHONPYCACHEPREFIX),
as an installed package has them; --no-bytecode compiles every module at every start instead
(PYTHONDONTWRITEBYTECODE), which makes start-up grow with the size of the source.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

TARGET = "zoo:resnet152"
IN_PROCESS = r'''
import time
from archdsl import analysis
from archdsl.elaborate import Elaborator
from archdsl.loader import Loader, resolve_file_argument
from archdsl.network import choose_network
from archdsl.values import DefValue
scope = Loader().load_path(resolve_file_argument("zoo:resnet152"))
defn, where = choose_network(scope, "resnet152")
best = float("inf")
for _ in range(20):
    t = time.perf_counter()
    analysis.summary(Elaborator().network(DefValue(defn, where), defn.span))
    best = min(best, time.perf_counter() - t)
print(best)
'''


def python(tree: str) -> str:
    return os.path.join(tree, ".venv", "bin", "python")


ENVS: dict = {}  # checkout -> its environment


def wall(tree: str, args, extra=None) -> float:
    env = dict(ENVS[tree], **(extra or {}))
    t = time.perf_counter()
    subprocess.run([python(tree), "-m", "archdsl", *args], check=True, cwd=tree, env=env,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def in_process(tree: str) -> float:
    out = subprocess.run([python(tree), "-c", IN_PROCESS], check=True, cwd=tree,
                         env=ENVS[tree], capture_output=True, text=True).stdout
    return float(out)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--rounds", type=int, default=30, help="pairs per measure")
    p.add_argument("--no-bytecode", action="store_true",
                   help="compile every module at every start (no .pyc caches)")
    args = p.parse_args()
    trees = {"before": args.before, "after": args.after}
    caches = tempfile.TemporaryDirectory(prefix="archdsl-pycache-")
    for name, tree in trees.items():
        env = dict(os.environ)
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(caches.name, name)
        ENVS[tree] = env
    no_cache = {"ARCHDSL_LARK_CACHE": "0"}
    measures = {
        "archdsl summary resnet152 (s)": lambda t: wall(t, ["summary", TARGET]),
        "archdsl check resnet152, Lark cache on (s)": lambda t: wall(t, ["check", TARGET]),
        "archdsl check resnet152, Lark cache off (s)": lambda t: wall(t, ["check", TARGET],
                                                                     no_cache),
        "elaborate + analyse resnet152 in-process (ms)": lambda t: in_process(t) * 1e3,
    }
    for tree in trees.values():
        wall(tree, ["summary", TARGET])  # warm the page cache and Lark's parser cache
    got = {m: {k: [] for k in trees} for m in measures}
    for m, fn in measures.items():  # pairs run back to back, their order alternating
        for r in range(args.rounds):
            for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                got[m][name].append(fn(trees[name]))
    caches.cleanup()
    print(f"{str(args.rounds) + ' pairs per measure':47} {'median before':>14} {'after':>9} "
          f"{'ratio':>6} {'min before':>11} {'after':>9} {'ratio':>6}")
    for m, v in got.items():
        b, a = statistics.median(v["before"]), statistics.median(v["after"])
        bm, am = min(v["before"]), min(v["after"])
        print(f"{m:47} {b:14.3f} {a:9.3f} {a / b:6.2f} {bm:11.3f} {am:9.3f} {am / bm:6.2f}")


if __name__ == "__main__":
    main()
