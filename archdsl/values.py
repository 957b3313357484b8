"""Run-time values of the language besides numbers, strings, booleans, none and lists:
blocks, networks and ops as values, and calls with some arguments already bound; and `show`,
a value as the language writes it (for messages)."""
from __future__ import annotations

from dataclasses import dataclass


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


CALLABLE = (DefValue, OpValue, Partial)


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
