"""Expressions (archdsl/evaluate.py): arithmetic and its overflow, NaN and infinity as user
errors, the builtin table (plain and lazy forms), ranges and domains as values."""
from __future__ import annotations

import math

import pytest

from archdsl.commands.eval import evaluate
from archdsl.errors import ArchError
from helpers import LOCATED, net, one_error, write


def test_number_suffixes_and_arithmetic():
    assert evaluate("4.1G") == 4_100_000_000
    assert evaluate("3k + 2M") == 2_003_000
    assert evaluate("2 ^ 10") == 1024 and evaluate("7 // 2") == 3 and evaluate("7 / 2") == 3.5
    assert evaluate("[1, 2] + [3]") == [1, 2, 3]
    assert evaluate("max([3, 9, 4]) if len([1]) == 1 else 0") == 9
    assert evaluate("sqrt(16) + ceil(2.1) + floor(2.9) + round(2.5) + abs(-1)") == 4 + 3 + 2 + 2 + 1
    with pytest.raises(ArchError, match="division by zero"):
        evaluate("1 % 0")


def test_builtins_are_what_the_readme_lists_and_a_bare_name_says_call_it(run_cli):
    from archdsl.evaluate import BUILTINS
    # docs/language.md, "Expressions": the builtins, and solve/flops/params/macs
    listed = "int round ceil floor min max abs sqrt len range sum solve flops params macs"
    assert set(listed.split()) <= set(BUILTINS)
    for name in listed.split():
        code, out, err = run_cli("eval", name)
        assert f"'{name}' is a builtin function: call it" in one_error(code, err)


@pytest.mark.parametrize("expr, value", [
    ("sqrt(2)", math.sqrt(2)), ("ceil(7 / 2)", 4), ("floor(-7 / 2)", -4), ("round(2.675, 2)", 2.67),
    ("min(3, 1, 2)", 1), ("max([3, 9, 4])", 9), ("sum(range(101))", 5050), ("len(range(2, 8, 2))", 3),
    ("abs(-2.5)", 2.5), ("int(-3.7)", -3),
])
def test_builtins_agree_with_python(expr, value):
    assert evaluate(expr) == value


def test_a_range_is_a_list():
    assert evaluate("range(2, 8, 2) == [2, 4, 6]") is True
    assert evaluate("range(3) + [7]") == [0, 1, 2, 7]
    assert evaluate("range(5)[-1]") == 4


def test_a_definition_shadows_a_builtin(tmp_path):
    f = write(tmp_path, "m.arch", "block max(w) { conv(w) }\n" + net("max(4)"))
    assert evaluate("max(4)", file=str(f)).describe() == "max(4)"  # the block, with w bound
    assert evaluate("max(4, 5)") == 5  # elsewhere the builtin


def test_lazy_forms_see_their_arguments_unevaluated():
    # solve's unknown is not a variable of the file; flops elaborates its call on that input
    assert evaluate("solve(c^2 == 2, c)") == pytest.approx(math.sqrt(2), rel=1e-12)
    # seed 004: a 5x5 conv to 32 channels on 28x28x192 costs 120,422,400 multiply-adds
    assert evaluate("flops(conv(32, k=5, p=2), in=[192, 28, 28])") == 120_422_400
    with pytest.raises(ArchError, match="unknown name 'c'"):
        evaluate("c^2 == 2")
@pytest.mark.parametrize("expr, message", [
    ("1e308 * 10", "not a finite number"),
    ("(1e308 * 10) * 0", "not a finite number"),  # inf * 0 (NaN) never comes to be
    ("(1e308 * 10) - (1e308 * 10)", "not a finite number"),
    ("sum([1e308, 1e308])", "not a finite number"),
    ("2.0 ** 2000", "overflow"),
    ("10 ** 1000", "overflow"),
    ("9223372036854775807 + 1", "exceeds 2^63"),
    ("-9223372036854775807 - 2", "exceeds 2^63"),
    ("int(1e300)", "exceeds 2^63"),
    ("ceil(1e308)", "exceeds 2^63"),
    ("1e400", "out of range"),
    ("99999999999999999999", "out of range"),
    ("9" * 5000, "out of range"),  # past Python's int-string limit
    ("1e999999999999G", "out of range"),
    ("sqrt(-1)", "sqrt of a negative number"),
    ("(-8) ** 0.5", "negative number to a fractional power"),
    ("0 ** -1", "division by zero"),
    ("1 / 0", "division by zero"),
    ("1 % 0", "division by zero"),
    ("1.0 // 0.0", "division by zero"),
    ("round(1.5, 0.5)", "must be an integer"),
    ('"\\q"', "unknown escape"),
    ('"\\ud800"', "is not a character"),
])
def test_numeric_overflow_nan_and_infinity_are_user_errors(run_cli, expr, message):
    code, out, err = run_cli("eval", expr)
    msg = one_error(code, err)
    assert message in msg and LOCATED.match(msg), msg


def test_overflow_in_a_file_is_located_at_the_expression(run_cli, tmp_path):
    f = write(tmp_path, "m.arch", net("let w = 64\n  conv(w * 10 ** 30)"))
    code, out, err = run_cli("check", f)
    assert one_error(code, err).startswith(f"{f}:4:")
