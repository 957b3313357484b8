"""Speed of `archdsl search`, as ratios against baselines measured side by side in one run.

1. Trials per second of a 200-trial `flops` search of search/vgg.arch with SQLite storage
   (target >= 20/s for the whole command): archdsl's way (sample in memory, one
   transaction per finished trial; the whole `archdsl search` process, start-up and
   outputs included; run_search in-process; its trial loop alone) against Optuna's own
   loop, `study.optimize`, on the same storage with a hand-written objective building the
   same networks through archdsl's Python API (the baseline, ratio 1), with archdsl's own
   objective, and with Optuna's in-memory storage (no storage at all).
   And the acceptance search of the RegNet spaces, a 200-trial `--sampler random` search of
   search:regnet at 400M (-D w_max=64), as the whole command against Optuna's own loop with
   the same objective (archdsl's, for that space), the same sampler and SQLite storage.
2. With --accuracy: an `accuracy` search of 20 trials of search/vgg.arch under a 10M FLOP
   budget on scikit-learn's digits resized to 3x32x32 (3 epochs, one torch thread per
   trial, median pruner): its wall time and the best validation accuracy.

Run: python bench/bench_search.py [--trials N] [--accuracy]   (prints a table; nothing is
asserted)
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")
REGNET = ["search:regnet", "--budget", "400M", "-D", "w_max=64", "--sampler", "random"]


BUDGET = 50_000_000  # vgg's default budget


def hand_written_objective():
    """The objective a user would write for Optuna's own loop: the same params as
    search/vgg.arch's `vgg` space, the same network built through archdsl's Python API
    (`archdsl.load(FILE, network="vgg_net", ...)`), the same budget as a constraint, the
    worst value for a network over budget (as archdsl gives it)."""
    import archdsl

    def objective(trial):
        stages = trial.suggest_int("stages", 2, 5)
        w = trial.suggest_categorical("w", [8, 16, 32, 64])
        depths = [trial.suggest_int(f"d{i}", 1, 3) for i in range(1, 6)]
        widths = [min(w * 2 ** i, 512) for i in range(5)]
        net = archdsl.load(VGG, network="vgg_net", widths=widths, depths=depths, stages=stages)
        flops = net.totals()["flops"]
        trial.set_constraint("flops <= budget", (flops - BUDGET) / max(flops, BUDGET))
        return float(flops) if flops <= BUDGET else float("-inf")

    return objective


def flops_rates(trials: int, rounds: int = 3) -> dict:
    """{method: (median trials/s, median of the per-round ratios to Optuna's loop with the
    hand-written objective)}; every round runs every method once, in alternating order, so
    that a load that comes and goes on the shared machine hits them alike."""
    import statistics
    import subprocess

    import optuna
    from archdsl.search.objectives import Evaluator, parse_objectives
    from archdsl.search.space import load_spaces
    from archdsl.search.study import (SearchConfig, quiet_optuna, make_objective, make_storage,
                                      run_search)
    quiet_optuna()
    tmp = Path(tempfile.mkdtemp(prefix="archdsl-bench-"))
    count = [0]

    def fresh(name):
        count[0] += 1
        return tmp / f"{name}{count[0]}"

    def whole_command(args=(VGG,)):
        def run():
            subprocess.run([sys.executable, "-m", "archdsl", "search", *args, "--trials",
                            str(trials), "--seed", "0", "--out", str(fresh("cli")), "--quiet"],
                           check=True, capture_output=True)
        return run

    loop = []

    def in_process():
        result = run_search(SearchConfig(VGG, trials=trials, out=str(fresh("a")), seed=0,
                                         progress=False))
        (_, study), = result.studies
        done = study.get_trials(deepcopy=False)
        loop.append(len(done) / (max(t.datetime_complete for t in done) -
                                 min(t.datetime_start for t in done)).total_seconds())

    def optuna_loop(objective, storage=True, random=False):
        def run():
            kw = {"storage": make_storage(f"sqlite:///{fresh('o')}.db")} if storage else {}
            sampler = optuna.samplers.RandomSampler(seed=0) if random else \
                optuna.samplers.TPESampler(seed=0, multivariate=True)
            study = optuna.create_study(direction="maximize", **kw, sampler=sampler)
            study.optimize(objective, n_trials=trials)
        return run

    archdsl_objective = make_objective(load_spaces(VGG)[0], Evaluator(parse_objectives("flops")),
                                       "bench")
    regnet_objective = make_objective(
        load_spaces("search:regnet", args={"budget": 400_000_000, "w_max": 64})[0],
        Evaluator(parse_objectives("flops")), "bench")
    methods = {
        "archdsl search, whole command (SQLite)": whole_command(),
        "archdsl run_search in-process (SQLite)": in_process,
        "Optuna study.optimize, hand-written objective (SQLite)":
            optuna_loop(hand_written_objective()),
        "Optuna study.optimize, archdsl's objective (SQLite)": optuna_loop(archdsl_objective),
        "Optuna study.optimize, hand-written (in memory)":
            optuna_loop(hand_written_objective(), storage=False),
        "RegNetX 400M random: archdsl search, whole command": whole_command(REGNET),
        "RegNetX 400M random: Optuna study.optimize, same objective":
            optuna_loop(regnet_objective, random=True),
    }
    base = "Optuna study.optimize, hand-written objective (SQLite)"
    regnet_base = "RegNetX 400M random: Optuna study.optimize, same objective"
    rates = {k: [] for k in methods}
    try:
        for r in range(rounds):
            for k in (list(methods) if r % 2 == 0 else list(methods)[::-1]):
                t = time.perf_counter()
                methods[k]()
                rates[k].append(trials / (time.perf_counter() - t))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rates["archdsl search, trial loop (SQLite)"] = loop
    out = {}
    for k, v in rates.items():
        ratios = [a / b for a, b in zip(v, rates[regnet_base if k.startswith("RegNet")
                                                  else base])]
        out[k] = (statistics.median(v), statistics.median(ratios))
    return out


def accuracy_run(trials: int = 20, budget: int = 10_000_000) -> tuple:
    from archdsl.search.train import TrainSettings
    from archdsl.search.report import best_item
    from archdsl.search.study import SearchConfig, run_search
    tmp = Path(tempfile.mkdtemp(prefix="archdsl-bench-"))
    try:
        t = time.perf_counter()
        result = run_search(SearchConfig(VGG, trials=trials, objective="accuracy",
                                         out=str(tmp / "acc"), seed=0, progress=False,
                                         args={"budget": budget},
                                         settings=TrainSettings(epochs=3)))
        elapsed = time.perf_counter() - t
        best = best_item(result)
        (_, study), = result.studies
        states = [t.state.name.lower() for t in study.get_trials(deepcopy=False)]
        return elapsed, best[2].values[0] if best else None, states, best
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"python {sys.version.split()[0]}")
    if args.accuracy:  # the slow part first, on the quietest machine
        elapsed, acc, states, best = accuracy_run()
    rates = flops_rates(args.trials, args.rounds)
    print(f"\nflops search of search/vgg.arch, {args.trials} trials, {args.rounds} alternating "
          f"rounds, medians (load average now {os.getloadavg()[0]:.1f})")
    print(f"{'how':62} {'trials/s':>9} {'ratio':>7}")
    for name, (r, ratio) in rates.items():
        print(f"{name:62} {r:9.1f} {ratio:7.2f}")
    if args.accuracy:
        counts = {s: states.count(s) for s in sorted(set(states))}
        print(f"\naccuracy search of search/vgg.arch, budget 10M, 20 trials, digits resized "
              f"to 3x32x32, 3 epochs: {elapsed:.0f} s, best validation accuracy {acc:.4f} "
              f"(trial {best[2].number}: {best[2].params}); states {counts}")


if __name__ == "__main__":
    main()
