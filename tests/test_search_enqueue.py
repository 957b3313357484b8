"""`--enqueue NAME=VALUE,...`: a point given by its params seeds the study, float params
exactly as given (a log-uniform param no coordinate search would hit), and the network the
trial builds is the one those params describe: its flops recomputed here by hand (multiply-
adds as the ResNet papers count them: k^2 C_in C_out H W per conv, C H W for the global
pool, C_in C_out for fc). Wrong points are refused by name."""
from __future__ import annotations

import csv

import pytest

from archdsl.cli import main

SPACE = """\
network n(w, d, s) {
  input [3, 8, 8]
  for i in range(d) { conv(w, k=3, p=1); relu }
  gap; flatten; fc(10)
}
space sp(budget=10M) {
  param w in range(8, 65, 8)
  param d in [1, 2, 3]
  param s in log(0.5, 2.0)
  param k in [[1, 2], [3]]
  require flops <= budget
  network n(w, d, s)
}
"""


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "sp.arch"
    path.write_text(SPACE)
    return str(path)


def test_a_point_given_by_its_params_is_the_first_trial(space, tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["search", space, "--enqueue", "w=16,d=2,s=1.2345,k=[3]", "--trials", "3",
                 "--seed", "0", "--out", str(out), "--quiet"]) == 0
    rows = list(csv.DictReader(open(out / "trials.csv")))
    first = rows[0]
    assert (first["w"], first["d"], first["s"], first["k"]) == ("16", "2", "1.2345", "[3]")
    assert first["enqueued"] == "w=16,d=2,s=1.2345,k=[3]"
    # conv 3->16 and 16->16 on 8x8, gap over 16x8x8, fc 16->10
    assert int(first["flops"]) == 9 * (3 * 16 + 16 * 16) * 64 + 16 * 64 + 16 * 10
    assert all(r["enqueued"] == "" for r in rows[1:])


@pytest.mark.parametrize("given, message", [
    ("w=16,d=2,s=1.2345", "missing k"),
    ("w=17,d=2,s=1.0,k=[3]", "w=17 is not in its domain"),
    ("w=16,d=2,s=3.0,k=[3]", "s=3.0 is not in its domain"),
    ("w=16,d=2,s=1.0,k=[3],zz=1", "draws no param 'zz'"),
])
def test_a_point_outside_the_space_is_refused(space, tmp_path, capsys, given, message):
    assert main(["search", space, "--enqueue", given, "--trials", "1",
                 "--out", str(tmp_path / "o"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
