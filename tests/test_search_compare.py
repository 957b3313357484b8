"""`--space a,b --sampler random`: pycls's comparison of design spaces (Radosavovic et al.
2020, "Designing Network Design Spaces", sec. 2 and fig. 2): uniform samples of each space,
one study per space in one storage (named STUDY.SPACE), one EDF per space in edf.png and
edf.csv, saying what the EDF is of when the objective is analysis-only.

Outside figures: the EDF's definition (the paper's eq. 1, F(e) = (1/n) sum_i 1[e_i < e],
ties counted as <=), recomputed here from trials.csv; a network's flops recomputed here by
hand as the ResNet papers count them (multiply-adds: k^2 C_in C_out H W for a 3x3 conv with
padding 1, C H W for a global pool, C_in C_out for fc)."""
from __future__ import annotations

import csv
import textwrap

import optuna
import pytest

from archdsl.cli import main

SPACES = textwrap.dedent("""\
    network tiny(widths, classes=10) {
      input [3, 8, 8]
      for w in widths { conv(w, k=3, p=1); relu }
      gap; flatten
      fc(classes)
    }

    space narrow(budget=5M) {
      param w1 in range(4, 17, 4)
      param w2 in range(4, 17, 4)
      require flops <= budget
      network tiny([w1, w2])
    }

    space wide(budget=5M) {
      param w1 in range(16, 129, 16)
      param w2 in range(16, 129, 16)
      require flops <= budget
      network tiny([w1, w2])
    }
    """)


def _flops(w1, w2, hw=64, classes=10):
    """The network `tiny([w1, w2])` on 3x8x8 by hand: two 3x3 convs, gap, fc."""
    return 9 * (3 * w1 + w1 * w2) * hw + w2 * hw + w2 * classes


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def compared(tmp_path):
    src = tmp_path / "two.arch"
    src.write_text(SPACES)
    out = tmp_path / "cmp"
    assert main(["search", str(src), "--space", "narrow,wide", "--sampler", "random",
                 "--trials", "25", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    return out


def test_one_uniform_edf_per_space_recomputed_from_trials(compared, capsys):
    trials = _rows(compared / "trials.csv")
    edf = _rows(compared / "edf.csv")
    assert (compared / "edf.png").stat().st_size > 0
    ranges = {"narrow": range(4, 17, 4), "wide": range(16, 129, 16)}
    for space, domain in ranges.items():
        mine = [r for r in trials if r["space"] == space]
        assert len(mine) == 25
        for r in mine:  # each space's own ranges; flops as the formula gives them
            assert int(r["w1"]) in domain and int(r["w2"]) in domain
            assert int(r["flops"]) == _flops(int(r["w1"]), int(r["w2"]))
            assert (r["feasible"] == "True") == (int(r["flops"]) <= 5_000_000)
            assert r["sampler"] == "random"
        values = sorted(int(r["flops"]) for r in mine if r["feasible"] == "True")
        rows = [r for r in edf if r["space"] == space]
        # one row per (space, feasible trial), in the order of the values
        assert sorted(int(r["trial"]) for r in rows) == sorted(
            int(r["number"]) for r in mine if r["feasible"] == "True")
        assert [float(r["value"]) for r in rows] == values
        n = len(values)
        for r in rows:
            e = float(r["value"])
            assert float(r["edf"]) == pytest.approx(sum(v <= e for v in values) / n)
            assert int(r["n"]) == n
            assert r["quantity"].startswith("EDF of flops, not error")
            assert r["sampling"] == "random: uniform sample of the feasible space"
    # the curves do not overlap: the narrow space's largest network, (16, 16), is the wide
    # space's smallest
    assert min(float(r["value"]) for r in edf if r["space"] == "wide") >= _flops(16, 16)
    assert max(float(r["value"]) for r in edf if r["space"] == "narrow") <= _flops(16, 16)


def test_one_study_per_space_in_one_storage(compared, capsys):
    storage = f"sqlite:///{compared / 'study.db'}"
    names = sorted(s.study_name for s in optuna.get_all_study_summaries(storage))
    assert names == ["narrow+wide.narrow", "narrow+wide.wide"]
    for name in names:
        study = optuna.load_study(study_name=name, storage=storage)
        meta = study.user_attrs["archdsl"]
        assert meta["space"] == name.rsplit(".", 1)[1] and meta["sampler"] == "random"
        assert len(study.trials) == 25


def test_analysis_only_edf_says_what_it_is_of(compared, capsys):
    # the command's output, besides the CSV, says the curves are of flops, not error
    src = compared.parent / "two.arch"
    main(["search", str(src), "--space", "narrow,wide", "--sampler", "random",
          "--trials", "1", "--seed", "3", "--out", str(compared), "--quiet"])
    out = capsys.readouterr().out
    assert "EDF of flops, not error" in out
