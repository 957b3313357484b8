"""The sampler of a search (`--sampler`): Optuna's own samplers, seeded, and how workers that
share a study and a `--seed` still draw different trials.

- `tpe` (default for one objective; multivariate, 10 random start-up trials), `nsga2`
  (default for several), `random`, `qmc` (scrambled Sobol), `cmaes` (one objective only;
  blind to constraints, which is why infeasible trials get the worst value), `gp` (imports
  torch), `grid` (every combination of every param's domain, probed from the space).
- Seeding. `random`, `tpe`, `nsga2`, `cmaes` and `gp` keep their state in the trials, so
  each worker may have its own random stream: `WorkerSeeded` seeds the sampler with
  `--seed` mixed with the space's index and the number the storage gives the worker's first
  trial. That number is 0 in a fresh study, k when a study with k trials is resumed, and
  distinct for workers sharing a study (the database numbers trials atomically), so the same
  command gives the same trials and two workers never replay each other's. `grid` and
  `qmc` walk one sequence that all workers must share (grid: a shuffled list of points
  indexed by trial number; qmc: a Sobol sequence whose position is kept in the study), so
  they take `--seed` as it is and run their trials in the storage itself.
"""
from __future__ import annotations

import hashlib
import math
from typing import Optional

import optuna

from ..errors import ArchError

SAMPLERS = ("tpe", "random", "qmc", "cmaes", "gp", "grid", "nsga2")
ADAPTIVE = ("tpe", "cmaes", "gp", "nsga2")  # their trials are not a uniform sample
SHARED_SEQUENCE = ("grid", "qmc")  # one sequence for every worker: plain seed, storage trials
MAX_GRID = 1_000_000  # grid points; past this a grid is not a search anybody can finish


def default_sampler(objectives) -> str:
    return "nsga2" if len(objectives) > 1 else "tpe"


def check_sampler(name: str, objectives) -> str:
    if name not in SAMPLERS:
        raise ArchError(f"unknown --sampler {name!r}; choose from {', '.join(SAMPLERS)}")
    if name == "cmaes" and len(objectives) > 1:
        raise ArchError("--sampler cmaes optimises one objective; for several use nsga2, tpe, "
                        "random, qmc, gp or grid")
    return name


def mix_seed(*parts) -> int:
    """A 32-bit seed from several numbers (the same parts give the same seed everywhere)."""
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def make_sampler(name: str, objectives, seed: Optional[int], n_jobs: int = 1,
                 grid: Optional[dict] = None):
    s = optuna.samplers
    if name == "tpe":
        return s.TPESampler(seed=seed, multivariate=True, constant_liar=n_jobs > 1,
                            n_startup_trials=10)
    if name == "nsga2":
        return s.NSGAIISampler(seed=seed)
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "qmc":
        return s.QMCSampler(qmc_type="sobol", scramble=True, seed=seed,
                            independent_sampler=s.RandomSampler(seed=seed),
                            warn_asynchronous_seeding=False, warn_independent_sampling=False)
    if name == "cmaes":
        return s.CmaEsSampler(seed=seed, independent_sampler=s.RandomSampler(seed=seed),
                              warn_independent_sampling=False)
    if name == "gp":
        return s.GPSampler(seed=seed, independent_sampler=s.RandomSampler(seed=seed),
                           warn_independent_sampling=False)
    if name == "grid":
        return s.GridSampler(grid, seed=seed)
    raise ArchError(f"unknown sampler {name!r}")


class WorkerSeeded(optuna.samplers.BaseSampler):
    """A sampler built on the first trial this worker runs, seeded with `--seed`, the
    space's index and that trial's number (see the module's docstring); it delegates
    everything to the sampler so built. `for_memory()` gives the sampler of the in-memory
    study that mirrors the stored one (Optuna's samplers serve one study each), seeded from
    the same number on another stream."""

    def __init__(self, name: str, objectives, seed: Optional[int], index: int, n_jobs: int = 1):
        self.name, self.objectives, self.seed = name, objectives, seed
        self.index, self.n_jobs = index, n_jobs
        self.inner = None
        self.first_trial: Optional[int] = None

    def seed_from(self, number: int):
        self._ensure(number)

    def _ensure(self, number: int):
        if self.inner is None:
            self.first_trial = number
            seed = None if self.seed is None else mix_seed(self.seed, self.index, number)
            self.inner = make_sampler(self.name, self.objectives, seed, self.n_jobs)
        return self.inner

    def for_memory(self):
        if self.first_trial is None:
            raise RuntimeError("for_memory() before the first trial")
        seed = None if self.seed is None else mix_seed(self.seed, self.index, self.first_trial,
                                                       "memory")
        return make_sampler(self.name, self.objectives, seed, self.n_jobs)

    # Optuna's sampler interface
    def before_trial(self, study, trial):
        self._ensure(trial.number).before_trial(study, trial)

    def infer_relative_search_space(self, study, trial):
        return self._ensure(trial.number).infer_relative_search_space(study, trial)

    def sample_relative(self, study, trial, search_space):
        return self._ensure(trial.number).sample_relative(study, trial, search_space)

    def sample_independent(self, study, trial, param_name, param_distribution):
        return self._ensure(trial.number).sample_independent(study, trial, param_name,
                                                             param_distribution)

    def after_trial(self, study, trial, state, values):
        self._ensure(trial.number).after_trial(study, trial, state, values)

    def reseed_rng(self):
        if self.inner is not None:
            self.inner.reseed_rng()


# ---------------------------------------------------------------------- grid


class _Probe:
    """A trial that answers every draw with one value of its domain (the first, or the last
    with `last=True`) and records the domains it was asked for, in the form Optuna stores."""

    def __init__(self, last: bool = False, picks: Optional[dict] = None):
        self.last = last
        self.picks = picks or {}
        self.domains: dict = {}

    def _answer(self, name, domain):
        self.domains[name] = domain
        if name in self.picks and self.picks[name] in domain:
            return self.picks[name]
        return domain[-1] if self.last else domain[0]

    def suggest_categorical(self, name, choices):
        return self._answer(name, list(choices))

    def suggest_int(self, name, low, high, step=1, log=False):
        if (high - low) // step + 1 > MAX_GRID:
            raise ArchError(f"--sampler grid: param {name} has more than {MAX_GRID:,} values")
        return self._answer(name, list(range(low, high + 1, step)))

    def suggest_float(self, name, low, high, step=None, log=False):
        raise ArchError(f"--sampler grid needs params with finitely many values; {name} is a "
                        f"real number in [{low}, {high}] (log(lo, hi)); use another sampler")


def grid_space(space, probes: int = 12) -> dict:
    """{param: [values]} of a space for GridSampler. The domains are probed with the first
    values, the last values and a few mixtures; a param whose domain depends on another
    param's value (`param d4 in range(1, 4) if stages >= 4 else [0]`, with `stages` drawn)
    has no single grid, and is refused."""
    import random
    rng = random.Random(0)
    seen: dict = {}
    runs = [_Probe(), _Probe(last=True)]
    for probe in runs:
        space.sample(probe, build=False)
        for name, dom in probe.domains.items():
            _same_domain(seen, name, dom)
    for _ in range(probes):
        picks = {n: rng.choice(d) for n, d in seen.items()}
        probe = _Probe(picks=picks)
        space.sample(probe, build=False)
        for name, dom in probe.domains.items():
            _same_domain(seen, name, dom)
    size = math.prod(len(d) for d in seen.values()) if seen else 0
    if size > MAX_GRID:
        raise ArchError(f"--sampler grid: the space has {size:,} points (more than "
                        f"{MAX_GRID:,}); use another sampler")
    return seen


def _same_domain(seen: dict, name: str, dom: list):
    have = seen.setdefault(name, dom)
    if have != dom:
        raise ArchError(f"--sampler grid: the domain of param {name} depends on other params "
                        f"(seen {_short(have)} and {_short(dom)}), so the space has no single "
                        f"grid; use another sampler")


def _short(values: list) -> str:
    text = ", ".join(map(str, values[:6]))
    return f"[{text}{', ...' if len(values) > 6 else ''}]"


def grid_size(grid: dict) -> int:
    return math.prod(len(v) for v in grid.values()) if grid else 0
