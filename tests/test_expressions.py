"""List comprehensions, destructuring, slices and the builtins log, log2, exp, zip, enumerate
and cumsum (docs/language.md "Expressions"): each agrees with Python's own construct, counts
against the work budget, and its mistakes are located errors."""
from __future__ import annotations

import itertools
import math

import pytest

import archdsl
from archdsl.commands.eval import evaluate
from helpers import LOCATED, one_error, write

XS = [3, 1, 4, 1, 5, 9, 2, 6]


@pytest.mark.parametrize("expr, value", [
    ("[i * i for i in range(6)]", [i * i for i in range(6)]),
    ("[i for i in range(20) if i % 3 == 0 if i > 3]", [i for i in range(20) if i % 3 == 0 if i > 3]),
    ("[[i, j] for i in range(4) for j in range(i) if (i + j) % 2 == 1]",
     [[i, j] for i in range(4) for j in range(i) if (i + j) % 2 == 1]),
    ("[a if a > 2 else 0 for a in [1, 2, 3, 4]]", [a if a > 2 else 0 for a in [1, 2, 3, 4]]),
    ("[w * d for (w, d) in zip([1, 2, 3], [4, 5, 6])]", [w * d for (w, d) in zip([1, 2, 3], [4, 5, 6])]),
    ("[a + b * c for a, (b, c) in [[1, [2, 3]], [4, [5, 6]]]]",
     [a + b * c for a, (b, c) in [[1, [2, 3]], [4, [5, 6]]]]),
    ("[i for i in []]", []),
    ("zip([1, 2, 3], [4, 5])", [list(t) for t in zip([1, 2, 3], [4, 5])]),
    ("zip([1], [2], [3])", [[1, 2, 3]]),
    ("enumerate([7, 8])", [list(t) for t in enumerate([7, 8])]),
    ("enumerate([7, 8], 1)", [list(t) for t in enumerate([7, 8], 1)]),
    ("cumsum([1, 2.5, 3])", list(itertools.accumulate([1, 2.5, 3]))),
    ("cumsum([])", []),
    ("log2(1024)", 10.0), ("log2(3)", math.log2(3)),
    ("log(10)", math.log(10)), ("exp(1.5)", math.exp(1.5)), ("exp(0)", 1.0),
])
def test_constructs_agree_with_python(expr, value):
    assert evaluate(expr) == value


@pytest.mark.parametrize("lo", [None, -9, -3, 0, 2, 5, 20])
@pytest.mark.parametrize("hi", [None, -2, 0, 3, 8, 20])
@pytest.mark.parametrize("step", [None, 1, 2, -1, -3])
def test_slices_are_pythons(lo, hi, step):
    text = ":".join("" if v is None else str(v) for v in (lo, hi, step))
    assert evaluate(f"{XS}[{text}]") == XS[lo:hi:step]
    assert evaluate(f"range(8)[{text}]") == list(range(8))[lo:hi:step]
    assert evaluate(f'"abcdefgh"[{text}]') == "abcdefgh"[lo:hi:step]


def test_for_statements_destructure_too():
    g = archdsl.load(text="""network n {
      input [3, 8, 8]
      for (w, s) in zip([8, 16], [1, 2]) { conv(w, k=3, s=s, p=1) }
      for i, w in enumerate([4, 2]) { "c{i}": conv(w) }
    }""").graph
    assert [g.nodes[k]["shape"] for k in ("0", "1", "c0", "c1")] == [
        (8, 8, 8), (16, 4, 4), (4, 4, 4), (2, 4, 4)]


def test_comprehension_sees_the_statement_input():
    g = archdsl.load(text="""network n {
      input [3, 8, 8]
      conv(sum([in.c * k for k in range(3)]))
    }""").graph
    assert g.nodes["0"]["shape"] == (9, 8, 8)  # 3 * (0 + 1 + 2)


@pytest.mark.parametrize("expr, message, col", [
    ("[i for i in 5]", "for ... in needs a list or range(), got 5", 13),
    ("[i for i in range(3) if i]", "expected true or false, got 0", 25),
    ("[a for (a, b) in [[1, 2, 3]]]", "cannot unpack [1, 2, 3] into 2 names", 4),
    ("[a for (a, b) in [5]]", "cannot unpack 5 into 2 names", 4),
    ("[1, 2][0.5:]", "a slice bound must be an integer or none, got 0.5", 8),
    ("[1, 2][::0]", "a slice step must not be zero", 10),
    ("5[1:]", "cannot slice 5", 1),
    ("zip([1], 2)", "zip() needs lists, got 2", 1),
    ("zip()", "zip() of nothing", 1),
    ("enumerate(3)", "enumerate() needs lists, got 3", 1),
    ("enumerate([1], 0.5)", "enumerate()'s start must be an integer", 1),
    ("cumsum([1, true])", "cumsum needs a number, got true", 1),
    ("cumsum([1], [2])", "cumsum() takes 1 arguments, got 2", 1),
    ("log2(0)", "log of a number that is not positive (0)", 1),
    ("log(-1)", "log of a number that is not positive (-1)", 1),
    ("exp(1000)", "numeric overflow in exp()", 1),
])
def test_mistakes_are_located(run_cli, expr, message, col):
    code, out, err = run_cli("eval", expr)
    line = one_error(code, err)
    assert LOCATED.match(line) and message in line and f"<expr>:1:{col}:" in line, line


def test_comprehensions_count_against_the_work_budget(tmp_path, run_cli):
    # 10 x 10,000 iterations with --max-nodes 1000 (20,000 steps): stopped, not run to the end
    f = write(tmp_path, "c.arch", "network c {\n  input [3, 8, 8]\n"
              "  let n = len([i for i in range(10) for j in range(10000)])\n  conv(4)\n}\n")
    code, out, err = run_cli("check", f, "--max-nodes", "1000")
    line = one_error(code, err)
    assert "elaboration stopped after 20,000 steps" in line and ":3:" in line
    assert run_cli("check", f)[0] == 0  # the default budget has room for it
