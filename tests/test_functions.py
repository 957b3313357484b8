"""User functions (`let f(v, d=8) = expr`, docs/language.md "Expressions") and the standard
library's width rules written with them (archdsl/stdlib/widths.arch), checked against Python
copies of torchvision's own functions."""
from __future__ import annotations

import pytest

import archdsl
from archdsl.commands.eval import evaluate
from archdsl.errors import ArchError
from helpers import LOCATED, one_error, write


# torchvision/models/_utils.py, _make_divisible (pytorch/vision, the copy MobileNetV2/V3,
# EfficientNet and RegNet call), verbatim but for the type hints.
def tv_make_divisible(v, divisor, min_value=None):
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    # Make sure that round down does not go down by more than 10%.
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# torchvision/models/mnasnet.py, _round_to_multiple_of, verbatim but for its bias check.
def tv_round_to_multiple_of(val, divisor, round_up_bias=0.9):
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def test_make_divisible_is_torchvisions():
    # EfficientNet-B1's width 1.1 on its stem's 32 channels; 10 -> 16 by the 10% rule
    # (8 would lose 20%); min_value lifts a small width; and a sweep of widths and divisors.
    assert evaluate("make_divisible(32 * 1.1, 8)") == tv_make_divisible(32 * 1.1, 8) == 32
    assert evaluate("make_divisible(10, 8)") == tv_make_divisible(10, 8) == 16
    assert evaluate("make_divisible(3)") == tv_make_divisible(3, 8) == 8
    assert evaluate("make_divisible(8, 8, 16)") == tv_make_divisible(8, 8, 16) == 16
    assert evaluate("make_divisible(100, 8, min_value=none)") == tv_make_divisible(100, 8)
    sweep = evaluate("[make_divisible(v / 7, d) for v in range(1, 3000, 7) for d in [1, 3, 8, 16]]")
    assert sweep == [tv_make_divisible(v / 7, d) for v in range(1, 3000, 7) for d in (1, 3, 8, 16)]


def test_round_to_multiple_is_mnasnets():
    # its docstring's example: (83, 8) -> 80, (84, 8) -> 88
    assert evaluate("[round_to_multiple(83, 8), round_to_multiple(84, 8)]") == [80, 88]
    sweep = evaluate("[round_to_multiple(c * a, 8) for c in [16, 24, 40, 80, 96, 192, 320] "
                     "for a in [0.5, 0.75, 1.0, 1.3]]")
    assert sweep == [tv_round_to_multiple_of(c * a, 8) for c in (16, 24, 40, 80, 96, 192, 320)
                     for a in (0.5, 0.75, 1.0, 1.3)]


FUNCTIONS = """
let sq(v) = v * v
let fact(n) = 1 if n <= 1 else n * fact(n - 1)
let after(v) = later(v) + 1
let later(v) = 2 * v
network f {
  input [3, 8, 8]
  let k = 3
  let addk(v, d=k) = v + d       # closes over k; its default sees it too
  a: conv(addk(sq(2)))
  b: conv(fact(4))
  let widths = [addk(i, d=i) for i in range(1, 3)]
  for (i, w) in enumerate(widths) { "c{i}": conv(w) }
}
"""


def test_functions_are_pure_lexically_scoped_and_recursive(tmp_path):
    g = archdsl.load(text=FUNCTIONS).graph
    assert [g.nodes[n]["shape"][0] for n in ("a", "b", "c0", "c1")] == [7, 24, 2, 4]
    f = write(tmp_path, "f.arch", FUNCTIONS)
    assert evaluate("fact(20)", file=str(f)) == 2432902008176640000  # 20!
    assert evaluate("after(4)", file=str(f)) == 9  # a top-level function calls a later one


@pytest.mark.parametrize("expr, message", [
    ("sq(1, 2)", "sq takes 1 arguments, got 2"),
    ("sq(w=2)", "sq has no parameter 'w'"),
    ("sq()", "sq needs argument 'v'"),
    ("fact(2000)", "recursion too deep: more than 1000 nested function calls (calling fact)"),
    ("fact(30)", "numeric overflow"),
])
def test_function_call_errors_are_located(tmp_path, run_cli, expr, message):
    f = write(tmp_path, "f.arch", FUNCTIONS)
    code, out, err = run_cli("eval", expr, "--file", f)
    assert message in one_error(code, err)


def test_an_error_in_a_function_points_into_it_with_the_call_site(tmp_path, run_cli):
    f = write(tmp_path, "g.arch", "let bad(n) = n + nothing\n"
              "network g {\n  input [3, 8, 8]\n  conv(bad(1))\n}\n")
    code, out, err = run_cli("check", f)
    line = one_error(code, err)
    assert LOCATED.match(line) and "g.arch:1:18: error: unknown name 'nothing'" in line
    assert "g.arch:4:8: note: in call of 'bad' here" in err


def test_exponential_recursion_stops_on_the_work_budget(tmp_path, run_cli):
    f = write(tmp_path, "fib.arch", "let fib(n) = n if n < 2 else fib(n - 1) + fib(n - 2)\n"
              "network fibnet {\n  input [3, 8, 8]\n  conv(fib(40))\n}\n")
    code, out, err = run_cli("check", f, "--max-nodes", "1000")
    assert "elaboration stopped after 20,000 steps" in one_error(code, err)


def test_a_function_is_not_a_statement(tmp_path, run_cli):
    f = write(tmp_path, "s.arch", "let sq(v) = v * v\nnetwork s {\n  input [3, 8, 8]\n  sq\n}\n")
    code, out, err = run_cli("check", f)
    line = one_error(code, err)
    assert ":4:3:" in line and "'sq' is function sq, not an op or block" in line


def test_a_function_does_not_see_the_statement_input():
    with pytest.raises(ArchError, match="`in` is only defined inside a body"):
        archdsl.load(text="let c() = in.c\nnetwork n {\n  input [3, 8, 8]\n  conv(c())\n}\n")


SPACE = """
let even(xs) = [v for v in xs if v % 2 == 0]
space s(n=5) {
  let twice(v) = 2 * v
  param w in even(range(n, 20))
  require twice(w) <= 40
  network small(twice(w))
}
network small(w) {
  input [3, 8, 8]
  conv(w); gap; flatten; fc(2)
}
"""


def test_functions_in_a_space_give_domains_and_requires(tmp_path):
    from archdsl.elaborate import Elaborator, FirstAnswer
    from archdsl.search import load_spaces
    f = write(tmp_path, "s.arch", SPACE)
    space = load_spaces(str(f), args={})[0]
    point = Elaborator().space(space.target, space.args, FirstAnswer())
    assert point.params == {"w": 6}  # the first even number of range(5, 20)
    assert point.graph.nodes["0"]["shape"] == (12, 8, 8) and point.feasible
