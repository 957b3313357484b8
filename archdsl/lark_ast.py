"""Lark's parse tree to the syntax records of `syntax.py` (the one place that walks Lark's
tree). Kept apart so that a process whose files are all read from the parse cache
(`parse_cache.py`) never imports Lark: `syntax.parse` imports this module when it parses.
"""
from __future__ import annotations

import lark
from lark import Token, Transformer_NonRecursive, v_args

from .errors import ArchError, Span
from .syntax_tree import (
    RESERVED,
    Apply,
    Arg,
    Aux,
    BinOp,
    BlockDef,
    BoolOp,
    Call,
    Compare,
    CompFor,
    Comprehension,
    Const,
    Dense,
    For,
    FunctionDef,
    Group,
    If,
    InAttr,
    Index,
    Input,
    Label,
    Let,
    ListExpr,
    Name,
    NetworkAlias,
    NetworkDef,
    Num,
    Parallel,
    Param,
    ParamStmt,
    Ref,
    Require,
    Residual,
    Slice,
    SpaceDef,
    SpaceNetwork,
    Str,
    Ternary,
    Unary,
    Use,
    _unescape,
    parse_number,
)


@v_args(meta=True)
class ToAst(Transformer_NonRecursive):
    """Lark tree to syntax records. Optional parts arrive as None (maybe_placeholders).
    Non-recursive: 5,000 nested braces or a 20,000-term sum must not hit Python's recursion
    limit here (tests/test_limits.py)."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 1, 1)
        return Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tspan(self, tok: Token) -> Span:
        return Span(self.file, tok.line, tok.column, tok.end_line, tok.end_column)

    def _string(self, tok: Token) -> str:
        try:
            return _unescape(str(tok))
        except ValueError as e:
            raise ArchError(str(e), self._tspan(tok)) from None

    def _name(self, tok: Token) -> str:
        if str(tok) in RESERVED:
            raise ArchError(f"'{tok}' is a reserved word and cannot be used as a name",
                            self._tspan(tok))
        return str(tok)

    # -- top level
    def start(self, meta, children):
        return lark.Tree("start", [c for c in children if c is not None])

    def expr_only(self, meta, children):
        return lark.Tree("expr_only", [c for c in children if c is not None])

    def use(self, meta, c):
        return Use(self._string(c[0]), self._span(meta))

    def params(self, meta, c):
        return tuple(p for p in c if p is not None)

    def param(self, meta, c):
        return Param(self._name(c[0]), c[1], self._span(meta))

    def block_def(self, meta, c):
        return BlockDef(self._name(c[0]), c[1] or (), c[2], self._span(meta))

    def network_def(self, meta, c):
        return NetworkDef(self._name(c[0]), c[1] or (), c[2], self._span(meta))

    def network_alias(self, meta, c):
        return NetworkAlias(self._name(c[0]), c[1], self._span(meta))

    def space_def(self, meta, c):
        return SpaceDef(self._name(c[0]), c[1] or (), c[2], self._span(meta))

    def body(self, meta, c):
        return tuple(s for s in c if s is not None)

    space_body = body

    # -- statements
    def input_stmt(self, meta, c):
        return Input(c[0], self._span(meta))

    def let_stmt(self, meta, c):
        return Let(self._name(c[0]), c[1], self._span(meta))

    def label(self, meta, c):
        tok = c[0]
        if tok.type == "STRING":
            return Label(self._string(tok), True, self._tspan(tok))
        return Label(self._name(tok), False, self._tspan(tok))

    def callee(self, meta, c):
        args = c[1] if len(c) > 1 else None
        return (self._name(c[0]), args, self._tspan(c[0]))

    def args(self, meta, c):
        return tuple(a for a in c if a is not None)

    def pos_arg(self, meta, c):
        return Arg(None, c[0], self._span(meta))

    def kw_arg(self, meta, c):
        name = str(c[0]) if c[0].type == "IN" else self._name(c[0])
        return Arg(name, c[1], self._span(meta))

    def from_clause(self, meta, c):
        return tuple(c)

    def ref(self, meta, c):
        # A quoted part names what a quoted label named: `from "block1-0"`.
        return Ref(tuple(self._string(t) if t.type == "STRING" else str(t) for t in c),
                   self._span(meta))

    def repeat(self, meta, c):
        return c[0]

    def apply_stmt(self, meta, c):
        label, (name, args, _), refs, repeat = c
        # An argument list of `()` arrives as None too: `f()` and `f` mean the same.
        return Apply(label, name, args, refs or (), repeat, self._span(meta))

    def group_stmt(self, meta, c):
        label, body, repeat = c
        return Group(label, body, repeat, self._span(meta))

    def parallel_stmt(self, meta, c):
        return Parallel(self._name(c[0]), c[1], self._span(meta))

    def residual_stmt(self, meta, c):
        return Residual(c[0], c[1], self._span(meta))

    def dense_stmt(self, meta, c):
        return Dense(self._name(c[0]), c[1], c[2], self._span(meta))

    def for_stmt(self, meta, c):
        return For(c[0], c[1], c[2], self._span(meta))

    def targets(self, meta, c):
        return c[0] if len(c) == 1 else tuple(c)

    def target_name(self, meta, c):
        return self._name(c[0])

    def target_tuple(self, meta, c):
        return tuple(c)

    def fn_def(self, meta, c):
        return FunctionDef(self._name(c[0]), c[1] or (), c[2], self._span(meta))

    def if_stmt(self, meta, c):
        other = c[2]
        if isinstance(other, If):
            other = (other,)
        return If(c[0], c[1], other, self._span(meta))

    space_if = if_stmt  # a space's `if`: the same statement, its bodies space statements

    def aux_stmt(self, meta, c):
        label, target, refs = c
        span = self._span(meta)
        if isinstance(target, tuple) and len(target) == 3 and isinstance(target[0], str):
            name, args, tspan = target
            target = Apply(None, name, args, (), None, tspan)
        else:
            target = Group(None, target, None, span)
        return Aux(label, target, refs, span)

    def param_stmt(self, meta, c):
        return ParamStmt(self._name(c[0]), c[1], self._span(meta))

    def require_stmt(self, meta, c):
        return Require(c[0], self._span(meta))

    def space_network(self, meta, c):
        return SpaceNetwork(c[0], self._span(meta))

    # -- expressions
    def ternary(self, meta, c):
        return Ternary(c[1], c[0], c[2], self._span(meta))

    def or_op(self, meta, c):
        return BoolOp("or", c[0], c[1], self._span(meta))

    def and_op(self, meta, c):
        return BoolOp("and", c[0], c[1], self._span(meta))

    def not_op(self, meta, c):
        return Unary("not", c[0], self._span(meta))

    def compare(self, meta, c):
        rest = tuple((str(c[i].children[0]), c[i + 1]) for i in range(1, len(c), 2))
        return Compare(c[0], rest, self._span(meta))

    def binop(self, meta, c):
        op = str(c[1].children[0])
        return BinOp("**" if op == "^" else op, c[0], c[2], self._span(meta))

    def neg(self, meta, c):
        return Unary("-", c[0], self._span(meta))

    def factor(self, meta, c):  # unary plus
        return c[0]

    def call(self, meta, c):
        return Call(c[0], c[1] or (), self._span(meta))

    def index(self, meta, c):
        return Index(c[0], c[1], self._span(meta))

    def slice(self, meta, c):
        return Slice(c[0], c[1], c[2], c[3], self._span(meta))

    def comprehension(self, meta, c):
        return Comprehension(c[0], tuple(c[1:]), self._span(meta))

    def comp_for(self, meta, c):
        return CompFor(c[0], c[1], tuple(c[2:]), self._span(meta))

    def comp_if(self, meta, c):
        return c[0]

    def in_attr(self, meta, c):
        return InAttr(str(c[1]), self._span(meta))

    def number(self, meta, c):
        try:
            value = parse_number(str(c[0]))
        except (ValueError, ArithmeticError):
            raise ArchError(f"number {str(c[0])[:40]} is out of range (integers must be below "
                            f"2^63, floats finite)", self._tspan(c[0])) from None
        return Num(value, self._tspan(c[0]))

    def string(self, meta, c):
        return Str(self._string(c[0]), self._tspan(c[0]))

    def name(self, meta, c):
        return Name(self._name(c[0]), self._tspan(c[0]))

    def true(self, meta, c):
        return Const(True, self._span(meta))

    def false(self, meta, c):
        return Const(False, self._span(meta))

    def none(self, meta, c):
        return Const(None, self._span(meta))

    def list(self, meta, c):
        return ListExpr(tuple(x for x in c if x is not None), self._span(meta))

    def atom(self, meta, c):  # parenthesised expression
        return c[0]
