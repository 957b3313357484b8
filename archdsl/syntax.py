"""Parsing: `.arch` text to the syntax tree's records (`syntax_tree.py`), with source spans.

The grammar lives in `grammars/archdsl.lark` (the only description of the syntax). This module
builds the Lark parser once per process, turns Lark's tree into the records of
`syntax_tree.py` (`lark_ast.py` walks the tree; the classes are re-exported here), and turns
Lark's exceptions into located `ArchError`s. Nothing after parsing sees Lark; nothing imports
it before a parse (parse_cache.py may need none).
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ArchError, Span, register_source
from .syntax_tree import (  # noqa: F401 - the tree's classes are read as syntax.NAME
    RESERVED,
    Num,
    Str,
    Const,
    Name,
    ListExpr,
    BinOp,
    Unary,
    BoolOp,
    Compare,
    Ternary,
    Arg,
    Call,
    Index,
    Slice,
    CompFor,
    Comprehension,
    InAttr,
    Label,
    Ref,
    Input,
    Let,
    Apply,
    Group,
    Parallel,
    Residual,
    Dense,
    For,
    If,
    Aux,
    Param,
    Use,
    FunctionDef,
    BlockDef,
    NetworkDef,
    NetworkAlias,
    ParamStmt,
    Require,
    SpaceNetwork,
    SpaceDef,
    Module,
    MAX_LITERAL,
    _unescape,
    parse_number,
)

if TYPE_CHECKING:
    import lark

# --------------------------------------------------------------------------- parser

GRAMMAR_PATH = Path(__file__).resolve().parent / "grammars" / "archdsl.lark"
if not GRAMMAR_PATH.exists():  # running from a source checkout: grammars/ sits beside the package
    GRAMMAR_PATH = Path(__file__).resolve().parent.parent / "grammars" / "archdsl.lark"


MAX_TOKENS = 200_000  # per file or expression, newlines and comments aside
MAX_TEXT = 64 * 2 ** 20  # characters of text to parse (files.MAX_SOURCE_BYTES for files)


class _TooManyTokens(Exception):
    def __init__(self, token):
        super().__init__(token)
        self.token = token


class _Newlines:
    """Post-lexer: a newline inside ( ) or [ ] does not end a statement; consecutive _NL
    tokens (the grammar's _NL stops after 1,000 comments) are one; past MAX_TOKENS tokens the
    parse stops, before the parser has built anything for them."""

    always_accept = ("_NL",)

    def process(self, stream):
        depth, count, newline = 0, 0, False
        for tok in stream:
            if tok.type == "_NL":
                if depth or newline:
                    continue
                newline = True
            else:
                newline = False
                if tok.type in ("LPAR", "LSQB"):
                    depth += 1
                elif tok.type in ("RPAR", "RSQB"):
                    depth = max(0, depth - 1)
            count += 1
            if count > MAX_TOKENS:
                raise _TooManyTokens(tok)
            yield tok


@functools.lru_cache(maxsize=None)
def _parser() -> lark.Lark:
    # Lark's cache file makes start-up cheaper: measured in bench/bench_language.py.
    import lark  # here, not at the top: a process reading parses from the cache needs none
    cache = os.environ.get("ARCHDSL_LARK_CACHE", "1") != "0"
    return lark.Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        start=["start", "expr_only"],
        propagate_positions=True,
        maybe_placeholders=True,
        postlex=_Newlines(),
        cache=cache,
    )


def _describe_expected(expected) -> str:
    pretty = {
        "_NL": "end of statement", "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'",
        "LBRACE": "'{'", "RBRACE": "'}'", "COMMA": "','", "COLON": "':'", "EQUAL": "'='",
        "NAME": "a name", "NUMBER": "a number", "STRING": "a string", "DOT": "'.'", "IN": "'in'",
    }
    names = sorted({pretty.get(e, e.lower().strip('"') if not e.startswith("__") else "")
                    for e in expected} - {""})
    if not names:
        return ""
    if len(names) > 6:
        names = names[:6] + ["..."]
    return "; expected " + ", ".join(names)


def _limits(text: str, file: str, what: str) -> str:
    """The text to parse: a UTF-8 byte order mark at its start is dropped (as Python does), and
    text beyond MAX_TEXT characters is refused before the lexer sees it."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text) > MAX_TEXT:
        raise ArchError(f"{what} has {len(text):,} characters; the limit is "
                        f"{MAX_TEXT // 2 ** 20} Mi", Span(file, 1, 1))
    return text


def _unexpected_character(text: str, pos: int) -> str:
    ch = text[pos]
    if ch == '"':
        end = text.find("\n", pos)
        rest = text[pos + 1:end if end >= 0 else len(text)]
        escapes = 0
        for m in re.finditer(r'\\.|"', rest):
            if m[0] == '"':  # the string ends on its line: it has too many escapes
                # The grammar bounds the escapes of one string (see its STRING terminal).
                bound = re.search(r"\{0,(\d+)\}",
                                  _parser().get_terminal("STRING").pattern.value)
                return f"string literal with {escapes:,} escapes (at most {int(bound[1]):,})"
            escapes += 1
        return "unterminated string (a string ends on the line it starts)"
    if ch.isdigit():
        return f"unexpected character {ch!r}: numbers are written with the ASCII digits 0-9"
    return f"unexpected character {ch!r}"


def _too_many_tokens(file: str, what: str, tok) -> ArchError:
    return ArchError(f"{what} has more than {MAX_TOKENS:,} tokens (names, numbers, operators; "
                     f"the limit); split it into files or use loops and blocks",
                     Span(file, tok.line, tok.column))


def parse(text: str, file: str = "<string>") -> Module:
    text = _limits(text, file, "the file")
    register_source(file, text)
    import lark
    try:
        tree = _parser().parse(text, start="start")
    except _TooManyTokens as e:
        raise _too_many_tokens(file, "the file", e.token) from None
    except lark.exceptions.UnexpectedCharacters as e:
        raise ArchError(_unexpected_character(text, e.pos_in_stream),
                        Span(file, e.line, e.column)) from None
    except lark.exceptions.UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            what = "unexpected end of file"
            line, col = _last_position(text)
        else:
            shown = "newline" if tok.type == "_NL" else repr(str(tok))
            what = f"unexpected {shown}"
            line, col = tok.line, tok.column
        raise ArchError(what + _describe_expected(e.expected), Span(file, line, col)) from None
    except lark.exceptions.UnexpectedEOF as e:
        line, col = _last_position(text)
        raise ArchError("unexpected end of file" + _describe_expected(e.expected),
                        Span(file, line, col)) from None
    return Module(file, tuple(_transform(file, tree).children))


def _transform(file: str, tree):
    import lark

    from .lark_ast import ToAst
    try:
        return ToAst(file).transform(tree)
    except lark.exceptions.VisitError as e:  # Lark wraps what the transformer raised
        if isinstance(e.orig_exc, ArchError):
            raise e.orig_exc from None
        raise


def parse_expr(text: str, file: str = "<expr>"):
    text = _limits(text, file, "the expression")
    register_source(file, text)
    import lark
    try:
        tree = _parser().parse(text, start="expr_only")
    except _TooManyTokens as e:
        raise _too_many_tokens(file, "the expression", e.token) from None
    except lark.exceptions.UnexpectedInput as e:
        line = getattr(e, "line", 1) or 1
        col = getattr(e, "column", 1) or 1
        if isinstance(e, lark.exceptions.UnexpectedToken) and e.token.type == "$END":
            line, col = _last_position(text)
        raise ArchError("invalid expression", Span(file, line, col)) from None
    return _transform(file, tree).children[0]


def _last_position(text: str):
    stripped = text.rstrip()
    line = stripped.count("\n") + 1
    col = len(stripped.rsplit("\n", 1)[-1]) + 1
    return line, max(col, 1)


