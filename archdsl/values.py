"""Run-time values of the language besides numbers, strings, booleans, none and lists:
blocks, networks and ops as values, calls with some arguments already bound, and the domains
a search space's `param` draws from; `show` and `literal` write a value as the language does
(for messages, and exactly, for generated files)."""
from __future__ import annotations

import math

from .errors import ArchError
from .records import Record


class DefValue(Record, eq=False):
    """A `block` or `network` definition together with the file scope it was written in."""
    defn: object  # syntax.BlockDef | NetworkDef | NetworkAlias | SpaceDef
    scope: object  # loader.FileScope

    @property
    def name(self) -> str:
        return self.defn.name

    def describe(self) -> str:
        return f"{self.defn.kind} {self.defn.name}"


class OpValue(Record, eq=False):
    op: object  # ops.Op

    @property
    def name(self) -> str:
        return self.op.name

    def describe(self) -> str:
        return f"op {self.op.name}"


class Partial(Record, eq=False):
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


class Function(Record, eq=False):
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


class LogRange(Record):
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


# ---------------------------------------------------------------------- walking values
# Lists may share their items (`[l, l]` twice over is 2^40 items in 40 steps), and nest as
# deep as chained definitions make them: printing, comparing and copying a value walk it
# with a loop, never recursion, and stop at MAX_ITEMS items visited, the bound on what a
# list may hold when it is built.

MAX_ITEMS = 1_000_000  # items one print, comparison or copy of a value may visit


def _too_large(what: str) -> ArchError:
    return ArchError(f"value too large to {what}: more than {MAX_ITEMS:,} items (a list's "
                     f"items count each time they appear, also where lists share them)")


_CLOSE, _COMMA = object(), object()  # a list's end and a separator, on a walk's stack


def _written(v, atom, what: str, step=None) -> str:
    """`v` written with lists as `[a, b]` and every other value as `atom(x)`, visiting at
    most MAX_ITEMS items; `step(n)`, if given, is told the items visited (a work budget)."""
    out, stack, seen = [], [v], 0
    while stack:
        x = stack.pop()
        if x is _CLOSE:
            out.append("]")
            continue
        if isinstance(x, list):
            seen += len(x)
            if seen > MAX_ITEMS:
                raise _too_large(what)
            out.append("[")
            stack.append(_CLOSE)
            for i in range(len(x) - 1, -1, -1):
                stack.append(x[i])
                if i:
                    stack.append(_COMMA)
        elif x is _COMMA:
            out.append(", ")
        else:
            out.append(atom(x))
    if step is not None:
        step(seen)
    return "".join(out)


def _show_atom(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "none"
    if isinstance(v, str):
        return '"' + "".join(map(_escape, v)) + '"'
    if isinstance(v, float):
        return f"{v:g}"
    return str(getattr(v, "describe", lambda: v)())


def show(v, step=None) -> str:
    """A value as the language writes it (strings escaped, so a message stays one line)."""
    return _written(v, _show_atom, "print", step)


def equal(a, b, step=None) -> bool:
    """`a == b` as the language means it: a list is a list (also when it is a range's),
    true is not 1, items compared alike at any depth; at most MAX_ITEMS items visited."""
    stack, seen = [(a, b)], 0
    while stack:
        x, y = stack.pop()
        if x is y:  # shared structure is equal at once (numbers are never NaN)
            continue
        if isinstance(x, list) or isinstance(y, list):
            if not (isinstance(x, list) and isinstance(y, list)) or len(x) != len(y):
                return False
            seen += len(x)
            if seen > MAX_ITEMS:
                raise _too_large("compare")
            stack.extend(zip(x, y))
        elif isinstance(x, bool) or isinstance(y, bool):
            if x is not y:
                return False
        elif isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if x != y:
                return False
        elif type(x) is not type(y) or x != y:
            return False
    if step is not None:
        step(seen)
    return True


def key(v, step=None) -> str:
    """A text that two values share exactly when they are the same value (blocks and ops by
    identity, numbers with their type): what a cache of results keyed by values reads."""
    return _written(v, _key_atom, "compare", step)


def _key_atom(v) -> str:
    if isinstance(v, DefValue):
        return f"<def {id(v.defn)} {id(v.scope)}>"
    if isinstance(v, OpValue):
        return f"<op {id(v.op)}>"
    if isinstance(v, Partial):
        args = ", ".join(key(a) for a in v.args)
        kwargs = ", ".join(f"{k}={key(x)}" for k, x in v.kwargs)
        return f"{_key_atom(v.target)}({args}; {kwargs})"
    if isinstance(v, Function):  # its environment too: a closure sees its own variables
        return f"<function {id(v.defn)} {id(v.scope)} {id(v.env)}>"
    if isinstance(v, LogRange):
        return f"log{key(list(v.bounds))}"
    return f"{type(v).__name__}:{v!r}"


def is_data(v) -> bool:
    """Numbers, strings, booleans, none and lists of them (what a file or a CSV can hold)."""
    stack, seen = [v], 0
    while stack:
        x = stack.pop()
        if isinstance(x, list):
            seen += len(x)
            if seen > MAX_ITEMS:
                raise _too_large("record")
            stack.extend(x)
        elif not (isinstance(x, (bool, int, float, str)) or x is None):
            return False
    return True


def literal(v) -> str:
    """A value written as an expression of the language that evaluates to it again (for
    best.arch, Optuna's stored choices and messages): floats exactly, calls by name."""
    return _written(v, _literal_atom, "write")


def _literal_atom(v) -> str:
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
    if isinstance(v, (DefValue, OpValue)):
        return v.name
    if isinstance(v, Partial):
        parts = [literal(a) for a in v.args] + [f"{k}={literal(x)}" for k, x in v.kwargs]
        return f"{v.target.name}({', '.join(parts)})"
    raise ArchError(f"cannot write {show(v)} as a literal")
