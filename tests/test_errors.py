"""Every class of user error exits 1 with FILE:LINE:COL: error: message, the source line and a
caret under the right column — and never a traceback."""
from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

CASES = {
    # name: (files {name: text}, expected line, expected column, message fragment)
    "syntax": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(4, k=3 p=1)\n}\n"}, 3, 15,
               "unexpected"),
    "unknown_op": ({"m.arch": "network m {\n  input [3, 8, 8]\n  convv(4)\n}\n"}, 3, 3,
                   "unknown op or block 'convv'"),
    "unknown_name": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(width)\n}\n"}, 3, 8,
                     "unknown name 'width'"),
    "unknown_parameter": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(4, kernel=3)\n}\n"},
                          3, 3, "no parameter 'kernel'"),
    "unknown_block_parameter": ({"m.arch": "block b(w) { conv(w) }\nnetwork m {\n"
                                 "  input [3, 8, 8]\n  b(4, z=1)\n}\n"}, 4, 3,
                                "no parameter 'z'"),
    "wrong_type": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(4, k=\"3\")\n}\n"}, 3, 3,
                   "argument 'k' must be"),
    "wrong_count": ({"m.arch": "block b(w) { conv(w) }\nnetwork m {\n  input [3, 8, 8]\n"
                     "  b(4, 5)\n}\n"}, 4, 3, "takes 1 arguments, got 2"),
    "missing_argument": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(k=3)\n}\n"}, 3, 3,
                         "needs argument 'out'"),
    "missing_input": ({"m.arch": "network m {\n  conv(4)\n}\n"}, 2, 3, "must start with `input"),
    "merge_mismatch": ({"m.arch": "network m {\n  input [3, 8, 8]\n  parallel add {\n"
                        "    conv(4)\n    conv(8)\n  }\n}\n"}, 3, 3, "add needs equal shapes"),
    "residual_mismatch": ({"m.arch": "network m {\n  input [3, 8, 8]\n"
                           "  residual { conv(4) }\n}\n"}, 3, 3,
                          "the body gives [4, 8, 8] but the shortcut gives [3, 8, 8]"),
    "fc_unflattened": ({"m.arch": "network m {\n  input [3, 8, 8]\n  fc(10)\n}\n"}, 3, 3,
                       "add `flatten`"),
    "size_not_positive": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(4, k=11)\n}\n"}, 3, 3,
                          "zero or negative"),
    "invalid_groups": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(4, groups=2)\n}\n"}, 3,
                       3, "groups=2 must divide"),
    "division_by_zero": ({"m.arch": "network m {\n  input [3, 8, 8]\n  let z = 0\n"
                          "  conv(8 // z)\n}\n"}, 4, 8, "division by zero"),
    "unsolvable": ({"m.arch": "network m {\n  input [3, 8, 8]\n"
                    "  let c = solve(c^2 + 1 == 0, c)\n}\n"}, 3, 11, "no positive real root"),
    "import_not_found": ({"m.arch": "use \"nowhere.arch\"\nnetwork m { input [3, 8, 8] }\n"}, 1,
                         1, "cannot find 'nowhere.arch'"),
    "import_cycle": ({"m.arch": "use \"n.arch\"\nnetwork m { input [3, 8, 8] }\n",
                      "n.arch": "use \"m.arch\"\n"}, 1, 1, "import cycle"),
    "duplicate_definition": ({"m.arch": "use \"p.arch\"\nuse \"q.arch\"\n"
                              "network m { input [3, 8, 8] }\n",
                              "p.arch": "block b() { relu }\n",
                              "q.arch": "block b() { tanh }\n"}, 2, 1,
                             "'b' is defined by two files"),
    "recursion_too_deep": ({"m.arch": "block r(n) { relu; r(n + 1) }\n"
                            "network m { input [3, 8, 8]; r(0) }\n"}, 1, 20,
                           "recursion too deep"),
    "loop_too_large": ({"m.arch": "network m {\n  input [3, 8, 8]\n"
                        "  for i in range(10000000) { relu }\n}\n"}, 3, 12, "loop too large"),
    "repeat_too_large": ({"m.arch": "network m {\n  input [3, 8, 8]\n  relu x 100000000\n}\n"},
                         3, 10, "loop too large"),
    "overflow": ({"m.arch": "network m {\n  input [3, 8, 8]\n  conv(10 ** 400)\n}\n"}, 3, 8,
                 "overflow"),
    "reserved_word": ({"m.arch": "network m {\n  input [3, 8, 8]\n  let in = 3\n}\n"}, 3, 7,
                      "reserved word"),
    "bad_from": ({"m.arch": "network m {\n  input [3, 8, 8]\n  a: conv(4)\n"
                  "  concat from a, b\n}\n"}, 4, 18, "unknown name 'b'"),
}


def _write(tmp_path, files):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path / "m.arch"


@pytest.mark.parametrize("case", sorted(CASES))
def test_user_error_is_located(case, tmp_path, run_cli):
    files, line, col, fragment = CASES[case]
    path = _write(tmp_path, files)
    code, out, err = run_cli("check", path)
    assert code == 1, err
    first = err.splitlines()[0]
    m = re.match(r"(.+?):(\d+):(\d+): error: (.*)", first)
    assert m, err
    assert (int(m.group(2)), int(m.group(3))) == (line, col), err
    assert fragment in m.group(4), err
    lines = err.splitlines()
    # The source line is quoted and the caret sits under the reported column.
    source_line = (tmp_path / m.group(1).rsplit("/", 1)[-1]).read_text().splitlines()[line - 1]
    assert lines[1] == "  " + source_line
    assert lines[2].index("^") == col - 1 + 2
    assert "Traceback" not in err


def test_error_inside_block_shows_the_call_chain(tmp_path, run_cli):
    path = _write(tmp_path, {"m.arch": textwrap.dedent("""\
        block inner(w) { conv(w); fc(10) }
        block outer(w) { inner(w) }
        network m {
          input [3, 8, 8]
          outer(4)
        }
        """)})
    code, _, err = run_cli("check", path)
    assert code == 1
    lines = err.splitlines()
    assert lines[0].endswith("fc takes a vector, but its input is [4, 8, 8]: add `flatten` "
                             "(or `gap; flatten`) before it")
    assert ":1:27: error:" in lines[0]
    notes = [ln for ln in lines if ": note: in call of" in ln]
    assert [n.split(":")[1] for n in notes] == ["2", "5"]  # inner's call site, then outer's


def test_missing_file_and_bad_arguments(tmp_path, run_cli):
    code, _, err = run_cli("check", tmp_path / "nope.arch")
    assert code == 1 and err.strip().endswith("nope.arch: error: no such file")
    code, _, err = run_cli("summary", tmp_path / "nope.arch", "--input", "3,x,4")
    assert code == 1 and "expected C,H,W" in err
    code, _, err = run_cli("frobnicate")
    assert code == 1 and "invalid choice" in err


def test_subprocess_prints_no_traceback(tmp_path):
    path = _write(tmp_path, CASES["merge_mismatch"][0])
    proc = subprocess.run([sys.executable, "-m", "archdsl", "check", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{path}:3:3: error: add needs equal shapes")
    assert "Traceback" not in proc.stderr


def test_check_builds_the_first_point_of_each_space(tmp_path, run_cli):
    good = tmp_path / "good.arch"
    good.write_text("network n(w) { input [3, 8, 8]; conv(w) }\n"
                    "space s(budget=1M) { param w in [4, 8]; require flops <= budget; network n(w) }\n")
    code, out, err = run_cli("check", good)
    assert code == 0, err
    assert out.strip() == f"{good}: ok (0 networks, 1 space)"
    bad = tmp_path / "bad.arch"
    bad.write_text("network n(w) { input [3, 8, 8]; conv(w) }\n"
                   "space s() { param w in [0, 4]; network n(w) }\n")
    code, _, err = run_cli("check", bad)
    assert code == 1
    assert err.startswith(f"{bad}:2:1: error: space s: its first point does not build")
    assert "conv: out must be positive, got 0" in err
