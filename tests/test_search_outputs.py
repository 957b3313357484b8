"""What a search writes: edf.csv beside edf.png (pycls's comparison of design spaces from
uniform samples, saying what the EDF is of), pareto.csv and one .arch per Pareto-optimal
trial, the budget on the plots, ResNeXt's block-cost error, and no stale output.

Outside figures: the EDF's definition (Radosavovic et al. 2020, "Designing Network Design
Spaces", eq. 1: F(e) = (1/n) sum 1[e_i <= e]), Pareto optimality (no other feasible trial at
least as good in every objective and better in one), computed here from trials.csv; seed
001's ResNeXt block costs (17 HW C^2 for the template, HW (9 G c^2 + 8 G C c) for G paths).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
from optuna.trial import FixedTrial

import archdsl
from archdsl.search import load_spaces
from archdsl.search.study import SearchConfig, run_search

ROOT = Path(__file__).resolve().parent.parent
VGG = str(ROOT / "search" / "vgg.arch")
RESNEXT = str(ROOT / "search" / "resnext.arch")


def _run(tmp_path, space, name="out", **kw):
    kw.setdefault("progress", False)
    kw.setdefault("seed", 0)
    return run_search(SearchConfig(space, out=str(tmp_path / name), **kw))


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_edf_of_uniform_samples_per_space(tmp_path):
    _run(tmp_path, VGG, spaces=["vgg", "vgg_free"], sampler="random", trials=30,
         args={"budget": 20_000_000})
    out = tmp_path / "out"
    assert (out / "edf.png").exists()
    edf = _rows(out / "edf.csv")
    trials = _rows(out / "trials.csv")
    for space in ("vgg", "vgg_free"):
        feasible = sorted(int(r["flops"]) for r in trials
                          if r["space"] == space and r["feasible"] == "True")
        rows = [r for r in edf if r["space"] == space]
        assert [float(r["value"]) for r in rows] == feasible
        n = len(feasible)
        for r in rows:  # F(e) = fraction of the n samples with a value <= e
            e = float(r["value"])
            assert float(r["edf"]) == pytest.approx(
                max(i + 1 for i, v in enumerate(feasible) if v == e) / n)
            assert "analysis-only objective" in r["quantity"] and "not of an error" in r["quantity"]
            assert r["sampling"] == "random: uniform sample of the feasible space"


def test_edf_over_adaptive_trials_is_labelled(tmp_path):
    result = _run(tmp_path, VGG, trials=12, sampler="tpe")
    rows = _rows(tmp_path / "out" / "edf.csv")
    assert rows and all("not a uniform sample" in r["sampling"] for r in rows)
    assert any("--sampler random" in n for n in result.notes)


def test_pareto_set_as_csv_and_arch_files(tmp_path):
    result = _run(tmp_path, VGG, trials=40, objective="max:flops,min:params",
                  args={"budget": 20_000_000})
    out = tmp_path / "out"
    trials = [r for r in _rows(out / "trials.csv") if r["feasible"] == "True"
              and r["state"] == "complete"]
    pts = {int(r["number"]): (float(r["value_flops"]), float(r["value_params"])) for r in trials}

    def dominated(p):
        return any(q[0] >= p[0] and q[1] <= p[1] and q != p for q in pts.values())
    front = sorted(n for n, p in pts.items() if not dominated(p))
    rows = _rows(out / "pareto.csv")
    assert sorted(int(r["number"]) for r in rows) == front
    files = sorted(p.name for p in (out / "pareto").iterdir())
    assert files == [f"trial_{n:03d}.arch" for n in front]
    for r in rows:
        net = archdsl.load(str(out / r["file"]))
        assert net.totals()["flops"] == int(r["flops"]) <= 20_000_000
        assert net.totals()["params"] == int(r["params"])
    assert (out / "pareto.png").exists()
    # resumed: the front moves on, and files of trials that left it are removed
    _run(tmp_path, VGG, trials=40, objective="max:flops,min:params",
         args={"budget": 20_000_000}, seed=1)
    rows = _rows(out / "pareto.csv")
    assert sorted(p.name for p in (out / "pareto").iterdir()) == sorted(
        Path(r["file"]).name for r in rows)
    del result


def test_budgets_for_the_plots(tmp_path):
    from archdsl.search.report import budgets
    space = load_spaces(RESNEXT, args={"budget": 123_000_000})[0]
    assert budgets(space) == {"flops": 123_000_000}


def test_no_stale_outputs_beside_no_feasible_trial(tmp_path):
    _run(tmp_path, VGG, trials=10)
    out = tmp_path / "out"
    assert (out / "best.arch").exists() and (out / "edf.png").exists()
    # the same --out, --force and a budget nothing fits: the old best must not stay
    _run(tmp_path, VGG, trials=3, force=True, args={"budget": 1})
    assert not (out / "best.arch").exists()
    assert not (out / "edf.png").exists() and not (out / "edf.csv").exists()


# ---------------------------------------------------------------------------- ResNeXt


def _c_star(G, C):
    a, b, c = 9 * G, 8 * G * C, -17 * C * C
    return (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)


def test_resnext_records_the_block_cost_error_of_rounding_c():
    space = load_spaces(RESNEXT)[0]
    for G in (1, 2, 4, 8, 16, 32, 64):
        for C in (16, 32, 48, 64):
            p = space.sample(FixedTrial(dict(G=G, C=C, d1=1, d2=1, d3=1, d4=0)), build=False)
            c = round(_c_star(G, C))
            want = (9 * G * c ** 2 + 8 * G * C * c) / (17 * C ** 2) - 1  # seed 001's costs
            assert p.derived["block_cost_error"] == pytest.approx(want, rel=1e-12, abs=1e-12)
    # G=64, C=16: root 0.51, c=1, twice the template's cost: refused by default...
    p = space.sample(FixedTrial(dict(G=64, C=16, d1=1, d2=1, d3=1, d4=0)))
    assert p.derived["block_cost_error"] == pytest.approx(8768 / 4352 - 1)
    assert not p.feasible and p.graph is None  # refused before the network is built
    # ...and allowed when the bound is lifted
    loose = load_spaces(RESNEXT, args={"max_cost_error": 2})[0]
    assert loose.sample(FixedTrial(dict(G=64, C=16, d1=1, d2=1, d3=1, d4=0))).feasible


def test_resnext_best_is_within_the_cost_error_bound(tmp_path):
    result = _run(tmp_path, RESNEXT, trials=40, objective="flops")
    rows = _rows(tmp_path / "out" / "trials.csv")
    feasible = [r for r in rows if r["feasible"] == "True"]
    assert feasible and all(abs(float(r["block_cost_error"])) <= 0.2 for r in feasible)
    text = (tmp_path / "out" / "best.arch").read_text()
    assert "block_cost_error=" in text
    del result
