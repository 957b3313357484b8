"""The syntax tree of an `.arch` file: immutable records (`records.py`) with source spans, one per
construct of the grammar (`grammars/archdsl.lark`), the reserved words, and the reading of
number and string literals. `syntax.py` parses text into these; `lark_ast.py` builds them from
Lark's tree; everything after parsing reads only these classes."""
from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Optional, Union

from .errors import Span
from .records import Record

RESERVED = frozenset(
    "x in from use let for if else parallel residual shortcut dense aux block network space "
    "param require input true false none and or not".split()
)

# --------------------------------------------------------------------------- expressions


class Num(Record):
    value: Union[int, float]
    span: Span


class Str(Record):
    value: str
    span: Span


class Const(Record):  # true, false, none
    value: object
    span: Span


class Name(Record):
    id: str
    span: Span


class ListExpr(Record):
    items: tuple
    span: Span


class BinOp(Record):
    op: str
    left: object
    right: object
    span: Span


class Unary(Record):
    op: str  # "-" or "not"
    operand: object
    span: Span


class BoolOp(Record):
    op: str  # "and" / "or"
    left: object
    right: object
    span: Span


class Compare(Record):
    first: object
    rest: tuple  # ((op, expr), ...)
    span: Span


class Ternary(Record):
    cond: object
    then: object
    other: object
    span: Span


class Arg(Record):
    name: Optional[str]
    value: object
    span: Span


class Call(Record):
    func: object
    args: tuple  # of Arg
    span: Span


class Index(Record):
    obj: object
    index: object
    span: Span


class Slice(Record):  # xs[lo:hi:step], each part optional
    obj: object
    lo: Optional[object]
    hi: Optional[object]
    step: Optional[object]
    span: Span


class CompFor(Record):  # `for TARGETS in ITERABLE if COND ...`, one clause of a comprehension
    target: object  # a name (str) or a tuple of targets, destructured
    iterable: object
    conds: tuple
    span: Span


class Comprehension(Record):  # [ELT for ... in ... if ... for ...]
    elt: object
    clauses: tuple  # of CompFor, outermost first
    span: Span


class InAttr(Record):  # in.c / in.h / in.w
    attr: str
    span: Span


# --------------------------------------------------------------------------- statements


class Label(Record):
    text: str
    template: bool  # a string template such as "denselayer{i + 1}"
    span: Span


class Ref(Record):
    parts: tuple  # ("features", "pool0") or ("in",)
    span: Span


class Input(Record):
    shape: object
    span: Span


class Let(Record):
    name: str
    value: object
    span: Span


class Apply(Record):
    label: Optional[Label]
    callee: str
    args: Optional[tuple]  # None for a bare name
    refs: tuple
    repeat: Optional[object]
    span: Span


class Group(Record):
    label: Optional[Label]
    body: tuple
    repeat: Optional[object]
    span: Span


class Parallel(Record):
    merge: str
    body: tuple
    span: Span


class Residual(Record):
    body: tuple
    shortcut: Optional[tuple]
    span: Span


class Dense(Record):
    var: str
    iterable: object
    body: tuple
    span: Span


class For(Record):
    var: object  # a name (str) or a tuple of targets, destructured
    iterable: object
    body: tuple
    span: Span


class If(Record):
    cond: object
    then: tuple
    other: Optional[tuple]
    span: Span


class Aux(Record):
    label: Label
    target: object  # Apply or Group
    refs: tuple
    span: Span


# --------------------------------------------------------------------------- top level


class Param(Record):
    name: str
    default: Optional[object]
    span: Span


class Use(Record):
    path: str
    span: Span


class FunctionDef(Record):  # let NAME(PARAMS) = EXPR
    name: str
    params: tuple
    body: object  # the expression
    span: Span
    kind: str = "function"


class BlockDef(Record):
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "block"


class NetworkDef(Record):
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "network"


class NetworkAlias(Record):
    name: str
    call: object
    span: Span
    kind: str = "network"


class ParamStmt(Record):
    name: str
    domain: object
    span: Span


class Require(Record):
    cond: object
    span: Span


class SpaceNetwork(Record):
    call: object
    span: Span


class SpaceDef(Record):
    name: str
    params: tuple
    body: tuple
    span: Span
    kind: str = "space"


class Module(Record):
    file: str
    items: tuple


# --------------------------------------------------------------------------- literals

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
