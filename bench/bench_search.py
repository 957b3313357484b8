"""Speed of `archdsl search`, as ratios against baselines measured side by side in one run.

1. Trials per second of a `flops` search of search/vgg.arch with SQLite storage (target
   >= 20/s): archdsl's way (sample in memory, one transaction per finished trial; the whole
   command, start-up and outputs included, and its trial loop alone) against
   Optuna's ordinary way with the same objective and storage (every suggest, attribute and
   constraint a transaction of its own), and against Optuna's in-memory storage (no
   storage at all: the ceiling).
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


def flops_rates(trials: int) -> dict:
    import optuna
    from archdsl.search.objectives import Evaluator, parse_objectives
    from archdsl.search.space import load_spaces
    from archdsl.search.study import (SearchConfig, _quiet_optuna, make_objective, make_storage,
                                      run_search)
    _quiet_optuna()
    tmp = Path(tempfile.mkdtemp(prefix="archdsl-bench-"))
    try:
        rates = {}
        # archdsl: the whole run_search loop (in-memory sampling, one write per trial)
        t = time.perf_counter()
        result = run_search(SearchConfig(VGG, trials=trials, out=str(tmp / "a"), seed=0,
                                         progress=False))
        rates["archdsl search, whole command (SQLite)"] = trials / (time.perf_counter() - t)
        (_, study), = result.studies
        done = study.get_trials(deepcopy=False)
        span = (max(t.datetime_complete for t in done) -
                min(t.datetime_start for t in done)).total_seconds()
        rates["archdsl search, trial loop (SQLite)"] = len(done) / span
        # Optuna's ordinary loop on the same storage kind, the same objective
        space = load_spaces(VGG)[0]
        objectives = parse_objectives("flops")
        objective = make_objective(space, Evaluator(objectives), "bench")
        storage = make_storage(f"sqlite:///{tmp / 'b.db'}")
        study = optuna.create_study(storage=storage, direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=0, multivariate=True))
        t = time.perf_counter()
        study.optimize(objective, n_trials=trials)
        rates["Optuna study.optimize (SQLite)"] = trials / (time.perf_counter() - t)
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=0, multivariate=True))
        t = time.perf_counter()
        study.optimize(objective, n_trials=trials)
        rates["Optuna study.optimize (in memory)"] = trials / (time.perf_counter() - t)
        return rates
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def accuracy_run(trials: int = 20, budget: int = 10_000_000) -> tuple:
    from archdsl.search.objectives import TrainSettings
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
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
          f"python {sys.version.split()[0]}")
    if args.accuracy:  # the slow part first, on the quietest machine
        elapsed, acc, states, best = accuracy_run()
    rates = flops_rates(args.trials)
    base = rates["Optuna study.optimize (SQLite)"]
    print(f"\nflops search of search/vgg.arch, {args.trials} trials")
    print(f"{'how':42} {'trials/s':>9} {'ratio':>7}")
    for name, r in rates.items():
        print(f"{name:42} {r:9.1f} {r / base:7.2f}")
    if args.accuracy:
        counts = {s: states.count(s) for s in sorted(set(states))}
        print(f"\naccuracy search of search/vgg.arch, budget 10M, 20 trials, digits resized "
              f"to 3x32x32, 3 epochs: {elapsed:.0f} s, best validation accuracy {acc:.4f} "
              f"(trial {best[2].number}: {best[2].params}); states {counts}")


if __name__ == "__main__":
    main()
