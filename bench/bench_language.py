"""Speed of the analysis path, as ratios against baselines measured side by side in one run.

1. Whole-process `archdsl summary` on ResNet-152 against `python -c "import torch"`
   (the cost of merely starting PyTorch): target under 0.5.
2. Lark's parser cache: process start-up of `archdsl check` with the cache on and off.
3. In-process elaboration plus analysis of ResNet-152 after the first parse (target <= 20 ms),
   and the cost per IR node.

Run: python bench/bench_language.py   (prints a table; nothing is asserted)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RESNET152 = "zoo:resnet152"  # the zoo ships inside the package


def wall(cmd, env=None, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    target = RESNET152
    summary_cmd = [sys.executable, "-m", "archdsl", "summary", target, "--network", "resnet152"]
    torch_cmd = [sys.executable, "-c", "import torch"]
    wall(summary_cmd, repeat=1), wall(torch_cmd, repeat=1)  # warm the page cache
    t_summary, t_torch = wall(summary_cmd), wall(torch_cmd)

    check_cmd = [sys.executable, "-m", "archdsl", "check", target]
    env_off = dict(os.environ, ARCHDSL_LARK_CACHE="0")
    t_cache_on, t_cache_off = wall(check_cmd), wall(check_cmd, env=env_off)

    import archdsl
    from archdsl import analysis
    from archdsl.elaborate import Elaborator
    from archdsl.loader import Loader, resolve_file_argument
    from archdsl.network import choose_network
    from archdsl.values import DefValue
    scope = Loader().load_path(resolve_file_argument(target))
    defn, where = choose_network(scope, "resnet152")
    best = float("inf")
    for _ in range(20):
        t = time.perf_counter()
        g = Elaborator().network(DefValue(defn, where), defn.span)
        analysis.summary(g)
        best = min(best, time.perf_counter() - t)
    nodes = g.number_of_nodes()
    del archdsl

    print(f"{'measure':58} {'value':>12}")
    print(f"{'archdsl summary resnet152 (s, median of 5)':58} {t_summary:12.3f}")
    print(f"{'python -c import torch (s, median of 5)':58} {t_torch:12.3f}")
    print(f"{'  ratio summary / import torch (target < 0.5)':58} {t_summary / t_torch:12.2f}")
    print(f"{'archdsl check, Lark cache on (s)':58} {t_cache_on:12.3f}")
    print(f"{'archdsl check, Lark cache off (s)':58} {t_cache_off:12.3f}")
    print(f"{'  ratio cache on / off':58} {t_cache_on / t_cache_off:12.2f}")
    print(f"{'elaborate + analyse resnet152 in-process (ms, best of 20)':58} {best * 1e3:12.1f}")
    print(f"{'  IR nodes':58} {nodes:12d}")
    print(f"{'  microseconds per node':58} {best / nodes * 1e6:12.1f}")


if __name__ == "__main__":
    main()
