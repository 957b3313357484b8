"""Run-time values of the language besides numbers, strings, booleans, none and lists:
blocks, networks and ops as values, calls with some arguments already bound, and the domains
a search space's `param` draws from; `show` and `literal` write a value as the language does
(for messages, and exactly, for generated files)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ArchError


@dataclass(frozen=True, eq=False)
class DefValue:
    """A `block` or `network` definition together with the file scope it was written in."""
    defn: object  # syntax.BlockDef | NetworkDef | NetworkAlias | SpaceDef
    scope: object  # loader.FileScope

    @property
    def name(self) -> str:
        return self.defn.name

    def describe(self) -> str:
        return f"{self.defn.kind} {self.defn.name}"


@dataclass(frozen=True, eq=False)
class OpValue:
    op: object  # ops.Op

    @property
    def name(self) -> str:
        return self.op.name

    def describe(self) -> str:
        return f"op {self.op.name}"


@dataclass(frozen=True, eq=False)
class Partial:
    """`name(args)` written as an expression: a block, network or op with arguments bound.
    Applying it adds further arguments (positional after its own; keywords override)."""
    target: object  # DefValue | OpValue
    args: tuple = ()
    kwargs: tuple = ()  # ((name, value), ...)
    span: object = None

    @property
    def name(self) -> str:
        return self.target.name

    def describe(self) -> str:
        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in self.kwargs]
        return f"{self.target.name}({', '.join(parts)})"

    def bind(self, args, kwargs) -> "Partial":
        merged = dict(self.kwargs)
        merged.update(kwargs)
        return Partial(self.target, tuple(self.args) + tuple(args), tuple(merged.items()),
                       self.span)


CALLABLE = (DefValue, OpValue, Partial)  # what a statement can apply, or bind arguments of


@dataclass(frozen=True, eq=False)
class Function:
    """`let NAME(PARAMS) = EXPR`: a function of expressions with the environment it was
    written in (an Env; None at a file's top level, where it sees the file's definitions)."""
    defn: object  # syntax.FunctionDef
    scope: object  # loader.FileScope
    env: object = None

    @property
    def name(self) -> str:
        return self.defn.name

    def describe(self) -> str:
        return f"function {self.defn.name}"


# ---------------------------------------------------------------------- domains
# What `param NAME in DOMAIN` draws from: a list (categorical), `range(lo, hi[, step])`
# (integers) or `log(lo, hi)` (a log-uniform float). They are values like any other, so
# `if`/`else`, `let` and block arguments apply to them as to any value.


class IntRange(list):
    """`range(...)`: the list of its integers, which also remembers its bounds, so that a
    `param` draws it as an integer (Optuna's int distribution) rather than a category."""

    def __init__(self, lo: int, hi: int, step: int = 1):
        super().__init__(range(lo, hi, step))
        self.lo, self.hi, self.step = lo, hi, step


@dataclass(frozen=True)
class LogRange:
    """`log(lo, hi)`: a float between lo and hi, drawn log-uniformly (only `param` draws it;
    its arguments are checked there)."""
    bounds: tuple

    def describe(self) -> str:
        return f"log({', '.join(show(b) for b in self.bounds)})"


def unwrap(value):
    """(target, args, kwargs) of anything callable."""
    if isinstance(value, Partial):
        return value.target, list(value.args), dict(value.kwargs)
    return value, [], {}


_STRING_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _STRING_ESCAPES:
        return _STRING_ESCAPES[ch]
    if ch.isprintable():
        return ch
    n = ord(ch)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def show(v) -> str:
    """A value as the language writes it (strings escaped, so a message stays one line)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return '"' + "".join(map(_escape, v)) + '"'
    if isinstance(v, list):
        return "[" + ", ".join(show(x) for x in v) + "]"
    if isinstance(v, float):
        return f"{v:g}"
    return str(getattr(v, "describe", lambda: v)())


def is_data(v) -> bool:
    """Numbers, strings, booleans, none and lists of them (what a file or a CSV can hold)."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return True
    return isinstance(v, list) and all(is_data(x) for x in v)


def literal(v) -> str:
    """A value written as an expression of the language that evaluates to it again (for
    best.arch, Optuna's stored choices and messages): floats exactly, calls by name."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ArchError(f"cannot write the number {v} in the language")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, (DefValue, OpValue)):
        return v.name
    if isinstance(v, Partial):
        parts = [literal(a) for a in v.args] + [f"{k}={literal(x)}" for k, x in v.kwargs]
        return f"{v.target.name}({', '.join(parts)})"
    raise ArchError(f"cannot write {show(v)} as a literal")
