"""archdsl search --sampler: Optuna's own samplers, seeded, recorded in the study; workers
sharing a study and a seed draw different trials.

Outside figures: Optuna's sampler classes (the study's sampler is Optuna's, not a copy),
the grid a space defines (every combination of its params' domains, written out here from
the space's text), and two real `archdsl search` processes sharing one SQLite study.
"""
from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from archdsl.errors import ArchError
from archdsl.search.study import SearchConfig, run_search

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")

# A small space: 3 x 2 x 2 = 12 points; w=64 with d=2 is over the 2M budget.
SMALL = """
use "{vgg}"
space small(budget=2M) {{
  param w in [8, 16, 64]
  param d in range(1, 3)
  param k in [1, 2]
  require flops <= budget
  network vgg_net([w, 2 * w], [d, k], 2, size=16)
}}
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.arch"
    path.write_text(SMALL.format(vgg=VGG))
    return str(path)


def _run(tmp_path, space, name, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("seed", 0)
    return run_search(SearchConfig(space, out=str(tmp_path / name), **kw))


def _params(result):
    (_, study), = result.studies
    return [tuple(sorted(t.params.items())) for t in study.get_trials(deepcopy=False)]


OPTUNA_CLASS = {"tpe": "TPESampler", "random": "RandomSampler", "qmc": "QMCSampler",
                "cmaes": "CmaEsSampler", "gp": "GPSampler", "grid": "GridSampler",
                "nsga2": "NSGAIISampler"}


@pytest.mark.parametrize("name", sorted(OPTUNA_CLASS))
def test_each_sampler_is_optunas_seeded_and_recorded(tmp_path, small, name):
    trials = None if name == "grid" else 12
    a = _run(tmp_path, small, "a", trials=trials, sampler=name)
    b = _run(tmp_path, small, "b", trials=trials, sampler=name)
    (_, study), = a.studies
    used = getattr(study.sampler, "inner", study.sampler)
    assert type(used) is getattr(optuna.samplers, OPTUNA_CLASS[name])
    assert study.user_attrs["archdsl"]["sampler"] == name
    assert _params(a) == _params(b)  # the same seed: the same trials
    assert len(_params(a)) == 12
    rows = (tmp_path / "a" / "trials.csv").read_text().splitlines()
    assert rows[0].split(",").count("sampler") == 1 and all(r.count(f",{name},") for r in rows[1:])


def test_grid_visits_every_point_once(tmp_path, small):
    result = _run(tmp_path, small, "g", sampler="grid")
    grid = set(itertools.product([1, 2], [1, 2], [8, 16, 64]))  # d, k, w as written above
    got = [(p["d"], p["k"], p["w"]) for p in (dict(t) for t in _params(result))]
    assert sorted(got) == sorted(grid)
    again = _run(tmp_path, small, "g", sampler="grid")  # resumed: nothing left to try
    assert len(_params(again)) == 12
    assert any("every point of the grid" in n for n in again.notes)


def test_grid_refuses_a_space_whose_domains_depend_on_params(tmp_path):
    path = tmp_path / "dep.arch"
    path.write_text(f'use "{VGG}"\nspace dep() {{\n  param n in range(1, 3)\n'
                    f'  param w in range(8, 10) if n == 1 else range(16, 18)\n'
                    f'  network vgg_net([w, w], [1, 1], 2, size=8)\n}}\n')
    with pytest.raises(ArchError, match="depends on other params"):
        _run(tmp_path, str(path), "x", sampler="grid")


def test_sampler_choice_errors(tmp_path, small):
    with pytest.raises(ArchError, match="unknown --sampler 'anneal'"):
        _run(tmp_path, small, "x", sampler="anneal")
    with pytest.raises(ArchError, match="cmaes optimises one objective"):
        _run(tmp_path, small, "x", sampler="cmaes", objective="flops,params")
    multi = _run(tmp_path, small, "m", trials=3, objective="max:flops,min:params")
    assert multi.sampler == "nsga2"  # several objectives: NSGA-II by default


def test_resume_with_another_sampler_is_refused_unless_force(tmp_path, small):
    _run(tmp_path, small, "r", trials=4, sampler="random")
    with pytest.raises(ArchError, match="was run with --sampler random"):
        _run(tmp_path, small, "r", trials=4, sampler="tpe")
    result = _run(tmp_path, small, "r", trials=4, sampler="tpe", force=True)
    (_, study), = result.studies
    assert len(study.trials) == 8  # --force goes on with the new sampler; trials are kept
    assert study.user_attrs["archdsl"]["samplers"] == ["random", "tpe"]
    kinds = [t.user_attrs["info"]["sampler"] for t in study.trials]
    assert kinds == ["random"] * 4 + ["tpe"] * 4


def test_resumed_study_does_not_replay_its_start(tmp_path, small):
    first = _params(_run(tmp_path, small, "s", trials=5, sampler="random"))
    both = _params(_run(tmp_path, small, "s", trials=5, sampler="random"))
    fresh = _params(_run(tmp_path, small, "t", trials=10, sampler="random"))
    assert both[:5] == first
    assert both[5:] != first  # seeded from the first new trial's number (5), not from 0
    assert both != fresh


def test_two_workers_with_one_seed_on_sqlite_draw_different_trials(tmp_path):
    """Two `archdsl search` processes, one SQLite study, the same --seed: the database gives
    their first trials different numbers, which seed their samplers, so they do not replay
    each other's trials (before, both started from the seed alone and repeated them)."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    cmd = [sys.executable, "-m", "archdsl", "search", VGG, "--storage", db, "--study", "shared",
           "--trials", "15", "--seed", "7", "--sampler", "random", "--quiet"]
    procs = [subprocess.Popen(cmd + ["--out", str(tmp_path / f"w{i}")], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    study = optuna.load_study(study_name="shared", storage=db)
    trials = study.get_trials()
    assert len(trials) == 30 and len({t.number for t in trials}) == 30
    by_worker: dict = {}
    for t in sorted(trials, key=lambda t: t.number):
        by_worker.setdefault(t.user_attrs["info"]["worker"], []).append(
            tuple(sorted(t.params.items())))
    a, b = by_worker.values()
    assert len(a) == len(b) == 15
    # 1,440 points: two streams of 15 share one by chance only (expected 0.16)
    assert len(set(a) & set(b)) <= 2
    assert a[:5] != b[:5]


def test_vgg_draws_only_the_depths_its_network_uses(tmp_path):
    """100 uniform samples: two trials have the same params exactly when they build the same
    network (before, unused d4, d5 made 100 trials 51 distinct networks under 100 params)."""
    from optuna.trial import FixedTrial

    from archdsl.search import load_spaces
    result = _run(tmp_path, VGG, "v", trials=100, sampler="random", args={"budget": 10 ** 12})
    space = load_spaces(VGG)[0]
    nets = {}
    for t in result.studies[0][1].get_trials(deepcopy=False):
        graph = space.sample(FixedTrial(t.params)).graph
        key = tuple(sorted((n, graph.nodes[n]["op"], tuple(graph.nodes[n]["shape"]))
                           for n in graph.nodes))
        nets.setdefault(key, set()).add(tuple(sorted(t.params.items())))
        stages = t.params["stages"]
        assert all(t.params[f"d{i}"] == 0 for i in range(stages + 1, 6))
    assert all(len(p) == 1 for p in nets.values())
