"""Parsing (archdsl/syntax.py): docs/language.md's lexical rules — numbers and their suffixes,
strings and escapes, comments, statements ended by newlines or `;` but not inside brackets,
the reserved words — and the spans every node keeps."""
from __future__ import annotations

import re

import pytest

from archdsl import syntax
from archdsl.errors import ArchError
from conftest import ROOT


@pytest.mark.parametrize("text, value", [
    ("4.1G", 4_100_000_000),  # docs/language.md: "exactly 4,100,000,000"
    ("3k", 3_000), ("2M", 2_000_000), ("1e-5", 1e-5), ("0.5", 0.5), (".5", 0.5), ("17", 17),
])
def test_numbers_and_suffixes(text, value):
    got = syntax.parse_number(text)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("text", ["9223372036854775808", "1e400", "1e999999999G"])
def test_numbers_out_of_range(text):
    with pytest.raises(ValueError):
        syntax.parse_number(text)


def test_strings_and_escapes():
    e = syntax.parse_expr(r'"caf\u00e9 \"x\"\t\\"')
    assert isinstance(e, syntax.Str) and e.value == 'café "x"\t\\'


def test_newlines_inside_brackets_do_not_end_a_statement():
    m = syntax.parse("network n {\n  input [3,\n    8, 8]\n  conv(4,\n       k=3)  # a comment\n"
                     "  relu; relu\n}\n", "n.arch")
    (net,) = m.items
    assert [type(s).__name__ for s in net.body] == ["Input", "Apply", "Apply", "Apply"]
    conv = net.body[1]
    assert conv.callee == "conv" and [a.name for a in conv.args] == [None, "k"]
    # spans: the statement starts at line 4, column 3 and ends after `)` on line 5
    assert (conv.span.line, conv.span.col, conv.span.end_line) == (4, 3, 5)


def test_the_reserved_words_are_the_language_references():
    text = (ROOT / "docs" / "language.md").read_text(encoding="utf-8")
    listed = re.search(r"Reserved words: `([^`]*)`", text.replace("\n", " ")).group(1).split()
    assert set(listed) == set(syntax.RESERVED)
    for word in listed:
        with pytest.raises(ArchError):
            syntax.parse(f"block {word}() {{ relu }}\n", "r.arch")


def test_a_syntax_error_at_the_end_of_the_file_points_at_its_last_character():
    with pytest.raises(ArchError) as e:
        syntax.parse("network n {\n  input [3, 8, 8]\n  conv(4\n", "t.arch")
    assert (e.value.span.line, e.value.span.col) == (3, 9)
    assert "unexpected end of file" in e.value.message


def test_a_space_body_holds_param_let_require_network_and_if():
    m = syntax.parse("space s(a=1) {\n  param w in [1, 2]\n  if a > 0 {\n    param v in range(3)\n"
                     "  } else {\n    let v = 0\n  }\n  require w <= 2\n  network n(w)\n}\n",
                     "s.arch")
    (space,) = m.items
    kinds = [type(s).__name__ for s in space.body]
    assert kinds == ["ParamStmt", "If", "Require", "SpaceNetwork"]
    assert type(space.body[1].then[0]).__name__ == "ParamStmt"
    with pytest.raises(ArchError, match="unexpected"):  # params belong to spaces only
        syntax.parse("network n { input [3, 8, 8]; param w in [1] }\n", "n.arch")
