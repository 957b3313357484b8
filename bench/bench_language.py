"""Speed of the analysis path, as ratios against baselines measured side by side in one run.

1. Whole-process `archdsl summary` on ResNet-152 against `python -c "import torch"`
   (the cost of merely starting PyTorch): target under 0.5. The same for ConvNeXt-L, the
   largest network of issue 13's ConvNeXt, ShuffleNetV2 and MobileNetV2 families.
2. Lark's parser cache: process start-up of `archdsl check` with the cache on and off.
3. In-process elaboration plus analysis of ResNet-152 after the first parse (target <= 20 ms),
   and the cost per IR node.
4. Guards: how fast runaway input is refused, against that ResNet-152 elaboration: the node
   limit (`relu x 1000000` under a limit of 100), the work budget (`{ {} x 1000000 } x
   1000000` under --max-nodes 1000), the parameter limit (fc(20000) on 3x224x224, 3.0e9
   parameters, refused before the torch backend would allocate 12 GB).

Run: python bench/bench_language.py   (prints a table; nothing is asserted)
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

RESNET152 = "zoo:resnet152"  # the zoo ships inside the package
CONVNEXT_LARGE = "zoo:convnext_large"


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
    large_cmd = [sys.executable, "-m", "archdsl", "summary", CONVNEXT_LARGE]
    wall(large_cmd, repeat=1)
    t_large, t_torch_again = wall(large_cmd), wall(torch_cmd)

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
    guards = {name: refusal(fn) for name, fn in guard_cases().items()}
    del archdsl

    print(f"{'measure':58} {'value':>12}")
    print(f"{'archdsl summary resnet152 (s, median of 5)':58} {t_summary:12.3f}")
    print(f"{'python -c import torch (s, median of 5)':58} {t_torch:12.3f}")
    print(f"{'  ratio summary / import torch (target < 0.5)':58} {t_summary / t_torch:12.2f}")
    print(f"{'archdsl summary convnext_large (s, median of 5)':58} {t_large:12.3f}")
    print(f"{'python -c import torch, again (s, median of 5)':58} {t_torch_again:12.3f}")
    print(f"{'  ratio summary / import torch (target < 0.5)':58} {t_large / t_torch_again:12.2f}")
    print(f"{'archdsl check, Lark cache on (s)':58} {t_cache_on:12.3f}")
    print(f"{'archdsl check, Lark cache off (s)':58} {t_cache_off:12.3f}")
    print(f"{'  ratio cache on / off':58} {t_cache_on / t_cache_off:12.2f}")
    print(f"{'elaborate + analyse resnet152 in-process (ms, best of 20)':58} {best * 1e3:12.1f}")
    print(f"{'  IR nodes':58} {nodes:12d}")
    print(f"{'  microseconds per node':58} {best / nodes * 1e6:12.1f}")
    for name, seconds in guards.items():
        print(f"{'refused: ' + name + ' (ms, best of 5)':58} {seconds * 1e3:12.1f}")
        print(f"{'  ratio to elaborating resnet152':58} {seconds / best:12.2f}")


def guard_cases() -> dict:
    import archdsl
    from archdsl.analysis import check_limits

    def body(stmts):
        return "network m {\n  input [3, 8, 8]\n  " + stmts + "\n}\n"
    big = "network big {\n  input [3, 224, 224]\n  flatten; fc(20000)\n}\n"
    return {
        "relu x 1000000, limit 100 nodes": lambda: archdsl.load(text=body("relu x 1000000"),
                                                                max_nodes=100),
        "{ {} x 1000000 } x 1000000, limit 1000": lambda: archdsl.load(
            text=body("{ {} x 1000000 } x 1000000"), max_nodes=1000),
        "fc(20000) on 3x224x224, 3.0e9 params": lambda: check_limits(archdsl.load(text=big).graph),
    }


def refusal(fn, repeat=5) -> float:
    """Best time until `fn` raises ArchError (it must)."""
    from archdsl.errors import ArchError
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        try:
            fn()
        except ArchError:
            best = min(best, time.perf_counter() - t)
        else:
            raise AssertionError("the guard did not refuse")
    return best


if __name__ == "__main__":
    main()
