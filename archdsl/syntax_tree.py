"""The syntax tree of an `.arch` file: frozen dataclasses with source spans, one per construct
of the grammar (`grammars/archdsl.lark`), the reserved words, and the reading of number and
string literals. `syntax.py` parses text into these; `lark_ast.py` builds them from Lark's
tree; everything after parsing reads only these classes."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional, Union

from .errors import Span

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
