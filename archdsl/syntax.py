"""Parsing: `.arch` text to frozen dataclasses with source spans.

The grammar lives in `grammars/archdsl.lark` (the only description of the syntax). This module
builds the Lark parser once per process, turns Lark's tree into the plain dataclasses below
(`lark_ast.py` walks the tree), and turns Lark's exceptions into located `ArchError`s. Nothing
after parsing sees Lark; nothing imports it before a parse (parse_cache.py may need none).
"""
from __future__ import annotations

import functools
import math
import os
import re
from decimal import Decimal
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Union

from .errors import ArchError, Span, register_source

if TYPE_CHECKING:
    import lark

RESERVED = frozenset(
    "x in from use let for if else parallel residual shortcut dense aux block network space "
    "param require input true false none and or not".split()
)

# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Num:
    value: Union[int, float]
    span: Span


@dataclass(frozen=True)
class Str:
    value: str
    span: Span


@dataclass(frozen=True)
class Const:  # true, false, none
    value: object
    span: Span


@dataclass(frozen=True)
class Name:
    id: str
    span: Span


@dataclass(frozen=True)
class ListExpr:
    items: tuple
    span: Span


@dataclass(frozen=True)
class BinOp:
    op: str
    left: object
    right: object
    span: Span


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: object
    span: Span


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" / "or"
    left: object
    right: object
    span: Span


@dataclass(frozen=True)
class Compare:
    first: object
    rest: tuple  # ((op, expr), ...)
    span: Span


@dataclass(frozen=True)
class Ternary:
    cond: object
    then: object
    other: object
    span: Span


@dataclass(frozen=True)
class Arg:
    name: Optional[str]
    value: object
    span: Span


@dataclass(frozen=True)
class Call:
    func: object
    args: tuple  # of Arg
    span: Span


@dataclass(frozen=True)
class Index:
    obj: object
    index: object
    span: Span


@dataclass(frozen=True)
class Slice:  # xs[lo:hi:step], each part optional
    obj: object
    lo: Optional[object]
    hi: Optional[object]
    step: Optional[object]
    span: Span


@dataclass(frozen=True)
class CompFor:  # `for TARGETS in ITERABLE if COND ...`, one clause of a comprehension
    target: object  # a name (str) or a tuple of targets, destructured
    iterable: object
    conds: tuple
    span: Span


@dataclass(frozen=True)
class Comprehension:  # [ELT for ... in ... if ... for ...]
    elt: object
    clauses: tuple  # of CompFor, outermost first
    span: Span


@dataclass(frozen=True)
class InAttr:  # in.c / in.h / in.w
    attr: str
    span: Span


# --------------------------------------------------------------------------- statements


@dataclass(frozen=True)
class Label:
    text: str
    template: bool  # a string template such as "denselayer{i + 1}"
    span: Span


@dataclass(frozen=True)
class Ref:
    parts: tuple  # ("features", "pool0") or ("in",)
    span: Span


@dataclass(frozen=True)
class Input:
    shape: object
    span: Span


@dataclass(frozen=True)
class Let:
    name: str
    value: object
    span: Span


@dataclass(frozen=True)
class Apply:
    label: Optional[Label]
    callee: str
    args: Optional[tuple]  # None for a bare name
    refs: tuple
    repeat: Optional[object]
    span: Span


@dataclass(frozen=True)
class Group:
    label: Optional[Label]
    body: tuple
    repeat: Optional[object]
    span: Span


@dataclass(frozen=True)
class Parallel:
    merge: str
    body: tuple
    span: Span


@dataclass(frozen=True)
class Residual:
    body: tuple
    shortcut: Optional[tuple]
    span: Span


@dataclass(frozen=True)
class Dense:
    var: str
    iterable: object
    body: tuple
    span: Span


@dataclass(frozen=True)
class For:
    var: object  # a name (str) or a tuple of targets, destructured
    iterable: object
    body: tuple
    span: Span


@dataclass(frozen=True)
class If:
    cond: object
    then: tuple
    other: Optional[tuple]
    span: Span


@dataclass(frozen=True)
class Aux:
    label: Label
    target: object  # Apply or Group
    refs: tuple
    span: Span


# --------------------------------------------------------------------------- top level


@dataclass(frozen=True)
class Param:
    name: str
    default: Optional[object]
    span: Span


@dataclass(frozen=True)
class Use:
    path: str
    span: Span


@dataclass(frozen=True)
class FunctionDef:  # let NAME(PARAMS) = EXPR
    name: str
    params: tuple
    body: object  # the expression
    span: Span
    kind: str = "function"


@dataclass(frozen=True)
class BlockDef:
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "block"


@dataclass(frozen=True)
class NetworkDef:
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "network"


@dataclass(frozen=True)
class NetworkAlias:
    name: str
    call: object
    span: Span
    kind: str = "network"


@dataclass(frozen=True)
class ParamStmt:
    name: str
    domain: object
    span: Span


@dataclass(frozen=True)
class Require:
    cond: object
    span: Span


@dataclass(frozen=True)
class SpaceNetwork:
    call: object
    span: Span


@dataclass(frozen=True)
class SpaceDef:
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "space"


@dataclass(frozen=True)
class Module:
    file: str
    items: tuple


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


_SUFFIX = {"k": 10**3, "M": 10**6, "G": 10**9}


MAX_LITERAL = 2 ** 63  # larger integer literals are an error (as is overflow in arithmetic)


def parse_number(raw: str):
    """The value of a NUMBER token; ValueError when it is out of range (too large for an
    integer below 2^63 or a finite float)."""
    scale = 1
    if raw[-1] in _SUFFIX:
        scale, raw = _SUFFIX[raw[-1]], raw[:-1]
    if any(ch in raw for ch in ".eE"):
        value = Decimal(raw)
        # Check the magnitude before any arithmetic: 1e999999999k must not build a huge int.
        if value and value.adjusted() + len(str(scale)) - 1 > 308:
            raise ValueError("out of range")
        # Decimal keeps 4.1G exactly 4,100,000,000 rather than 4099999999.9999995.
        value = value * scale
        if scale != 1 and value == value.to_integral_value():
            result = int(value)
        else:
            result = float(value)
    else:
        if len(raw.lstrip("0")) > 19:  # longer than any int below 2^63
            raise ValueError("out of range")
        result = int(raw) * scale
    if isinstance(result, float) and not math.isfinite(result) \
            or isinstance(result, int) and result >= MAX_LITERAL:
        raise ValueError("out of range")
    return result


_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|x[0-9a-fA-F]{2}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


def _unescape(raw: str) -> str:
    """The text of a STRING token: \\n \\t \\r \\0 \\\\ \\" \\' \\xHH \\uHHHH \\UHHHHHHHH; another
    escape, or one that names no character, is a ValueError (a located error for the user)."""
    body = raw[1:-1]
    if "\\" not in body:
        return body

    def one(m):
        e = m.group(1)
        if e in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[e]
        if len(e) > 1:
            code = int(e[1:], 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ValueError(f"\\{e} is not a character")
            return chr(code)
        raise ValueError(f"unknown escape \\{e} in a string (use \\\\ for a backslash)")
    return _ESCAPE.sub(one, body)
