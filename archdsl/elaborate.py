"""Elaboration: the only place with language semantics. Evaluates expressions, expands blocks,
loops and conditionals, names every op, infers shapes, and builds the IR (a networkx DiGraph
whose node keys are dotted module paths; see DESIGN.md and `ir.py`).

Every error raised here carries the span of the statement that caused it and, inside blocks,
the chain of call sites.
"""
from __future__ import annotations

import dataclasses
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Optional

from . import ir, ops, syntax
from .errors import ArchError, Span
from .loader import FileScope
from .values import CALLABLE, DefValue, OpValue, Partial, show, unwrap

MAX_NODES = 1_000_000  # IR nodes one elaboration may create (ARCHDSL_MAX_NODES overrides)
MAX_CALL_DEPTH = 200  # nested block calls
MAX_LOOP = 1_000_000  # iterations of one loop, range() length, `x N`
MAX_INT = 2 ** 63  # larger numbers are an overflow error
STEPS_PER_NODE = 20  # work budget: statements run and list items built, per allowed IR node

_NAME_RE = re.compile(r"[A-Za-z0-9_]+$")


class Env:
    """Lexical variables: `let`, parameters, loop variables. Falls back to the file scope."""

    __slots__ = ("vars", "parent", "file")

    def __init__(self, file: FileScope, parent: Optional["Env"] = None):
        self.vars: dict = {}
        self.parent = parent
        self.file = file

    def child(self) -> "Env":
        return Env(self.file, self)

    def is_bound(self, name: str) -> bool:
        """Whether `name` means something here (so a builtin of that name is shadowed)."""
        try:
            self.lookup(name)
            return True
        except KeyError:
            return False

    def lookup(self, name: str):
        env = self
        while env is not None:
            if name in env.vars:
                return env.vars[name]
            env = env.parent
        entry = self.file.lookup(name)
        if entry is not None:
            return DefValue(entry[0], entry[1])
        op = ops.lookup(name)
        if op is not None:
            return OpValue(op)
        raise KeyError(name)


@dataclass
class Scope:
    """Naming state of one module scope: its path prefix, position counter and names."""
    prefix: str  # "layer1.0." ("" at the top)
    path: tuple  # enclosing scope paths, for render clusters
    names: dict = field(default_factory=dict)  # label -> output node key
    position: int = 0
    aux: bool = False

    def key(self, name: str) -> str:
        return self.prefix + name


class Elaborator:
    def __init__(self, max_nodes: Optional[int] = None):
        # MAX_CALL_DEPTH nested blocks take ~10 Python frames each; Python 3.11 frames of
        # Python-to-Python calls live off the C stack, so a higher limit is safe.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
        self.max_nodes = max_nodes or MAX_NODES
        # Loops that add few ops (`{ {} x 1000000 } x 1000000`) would run for days under the
        # node limit alone: a budget of work, proportional to it, stops them too.
        self.max_steps = STEPS_PER_NODE * self.max_nodes
        self.steps = 0
        self.graph = None
        self.chain: list = []  # (callee name, call span)
        self._cost_cache: dict = {}
        self.input_override: Optional[tuple] = None  # summary/compile --input C,H,W

    # ================================================================== networks

    def network(self, value, span: Optional[Span] = None, name: Optional[str] = None):
        """Elaborate a network value (a network definition, alias or partial) into the IR;
        `name` (default: the definition's) names the result, so an alias keeps its own."""
        name = name or unwrap(value)[0].name
        target, args, kwargs = unwrap(value)
        target, args, kwargs = self._resolve_alias(target, args, kwargs, span)
        defn = target.defn
        if not isinstance(defn, syntax.NetworkDef):
            raise ArchError(f"{target.describe()} is not a network", span)
        self.graph = ir.new_graph(name)
        env = self._bind(target, args, kwargs, span or defn.span)
        body = defn.body
        if not body or not isinstance(body[0], syntax.Input):
            raise ArchError(f"network {defn.name} must start with `input [C, H, W]`",
                            body[0].span if body else defn.span)
        shape_value = self.eval(body[0].shape, env, None)
        shape = self._input_shape(shape_value, body[0].span)
        if self.input_override is not None:
            shape = tuple(self.input_override)
        self.graph.graph["input_shape"] = list(shape)
        top = Scope("", ())
        self._add(ir.INPUT, ops.INPUT.name, {}, shape, top, body[0].span, [])
        self.graph.graph["inputs"] = [ir.INPUT]
        out = self.body(body[1:], env, top, ir.INPUT)
        self.graph.graph["outputs"] = [out]
        return self.graph

    def _resolve_alias(self, target, args, kwargs, span, depth=0):
        """`network a = b(...)`: follow aliases to the network definition they bind."""
        while isinstance(target, DefValue) and isinstance(target.defn, syntax.NetworkAlias):
            depth += 1
            if depth > MAX_CALL_DEPTH:
                raise ArchError("network aliases refer to each other in a cycle", span)
            inner = self.eval(target.defn.call, Env(target.scope), None)
            if not isinstance(inner, CALLABLE):
                raise ArchError(f"network {target.name} = ... must name a network call",
                                target.defn.span)
            t2, a2, k2 = unwrap(inner)
            k2.update(kwargs)
            target, args, kwargs = t2, a2 + list(args), k2
        if not isinstance(target, DefValue):
            raise ArchError(f"{target.describe()} is not a network", span)
        return target, args, kwargs

    def _input_shape(self, v, span) -> tuple:
        if not (isinstance(v, list) and len(v) in (1, 3)
                and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
            raise ArchError(f"input must be [C, H, W] (or [N]) of positive integers, "
                            f"got {show(v)}", span)
        return tuple(v)

    # ================================================================== statements

    def _step(self, n: int) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            raise ArchError(f"a loop runs too long: elaboration stopped after {self.max_steps:,} "
                            f"steps ({STEPS_PER_NODE} per op of --max-nodes {self.max_nodes:,}; "
                            f"raise it if this is intended)")

    def body(self, stmts, env: Env, scope: Scope, x: str) -> str:
        self._step(1 + len(stmts))
        for stmt in stmts:
            x = self.stmt(stmt, env, scope, x)
        return x

    def stmt(self, s, env: Env, scope: Scope, x: str) -> str:
        try:
            method = getattr(self, "_stmt_" + type(s).__name__)
        except AttributeError:
            raise ArchError(f"`{type(s).__name__.lower()}` is not allowed here", s.span) from None
        try:
            return method(s, env, scope, x)
        except ArchError as e:
            raise e.with_span(s.span).with_chain(tuple(self.chain))
        except RecursionError:
            raise ArchError("nesting too deep", s.span, tuple(self.chain)) from None

    def _stmt_Input(self, s, env, scope, x):
        raise ArchError("`input` may only be the first statement of a network", s.span)

    def _stmt_Let(self, s, env, scope, x):
        env.vars[s.name] = self.eval(s.value, env, self._shape(x))
        return x

    def _repeat(self, expr, env, x) -> int:
        if expr is None:
            return 1
        n = self.eval(expr, env, self._shape(x))
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ArchError(f"x N needs a non-negative integer, got {show(n)}", expr.span)
        if n > MAX_LOOP:
            raise ArchError(f"loop too large: x {n} (limit {MAX_LOOP:,})", expr.span)
        return n

    def _label(self, label: Optional[syntax.Label], env, x) -> Optional[str]:
        if label is None:
            return None
        if not label.template:
            return label.text
        text = self._template(label, env, x)
        if not _NAME_RE.match(text):
            raise ArchError(f"name {text!r} may hold only letters, digits and '_'", label.span)
        return text

    def _template(self, label, env, x) -> str:
        out, pos, text = [], 0, label.text
        for m in re.finditer(r"\{([^{}]*)\}", text):
            out.append(text[pos:m.start()])
            where = label.span.file + "#template"
            try:
                expr = syntax.parse_expr(m.group(1), file=where)
                value = self.eval(expr, env, self._shape(x))
            except ArchError as e:
                if e.span is None or e.span.file != where:
                    raise
                # Locate it at the label: the template's own text is not a file to point into.
                raise ArchError(f"in the name template {{{show(m.group(1))[1:-1]}}}: "
                                f"{e.message}", label.span) from None
            out.append(show(value) if not isinstance(value, str) else value)
            pos = m.end()
        out.append(text[pos:])
        return "".join(out)

    def _stmt_Apply(self, s: syntax.Apply, env, scope, x):
        n = self._repeat(s.repeat, env, x)
        name = self._label(s.label, env, x)
        if s.repeat is not None and name is not None:
            # `name: f x N` makes `name` a scope holding N positions, like nn.Sequential.
            inner = self._open_scope(scope, name, "repeat", s.span)
            out = x
            for _ in range(n):
                out = self._apply_once(s, env, inner, out, None)
            self._register(scope, name, out, s.span)
            return out
        for _ in range(n):
            x = self._apply_once(s, env, scope, x, name)
        return x

    def _inputs(self, refs, scope, x, span) -> list:
        if not refs:
            return [x]
        return [self._ref(r, scope, x) for r in refs]

    def _ref(self, ref: syntax.Ref, scope: Scope, x: str) -> str:
        if ref.parts == ("in",):
            return scope.names.get("in", x)
        dotted = ".".join(ref.parts)
        found = scope.names.get(dotted)
        if found is None:
            found = scope.names.get(ref.parts[0]) if len(ref.parts) == 1 else None
        if found is None and (scope.prefix + dotted) in self.graph.graph["labels"]:
            found = self.graph.graph["labels"][scope.prefix + dotted]
        if found is None:
            known = ", ".join(sorted(k for k in scope.names if k != "in")) or "none yet"
            raise ArchError(f"unknown name '{dotted}' in from (names here: {known})", ref.span)
        return found

    def _callee(self, name: str, env: Env, span):
        try:
            value = env.lookup(name)
        except KeyError:
            raise ArchError(f"unknown op or block '{name}'", span) from None
        if not isinstance(value, CALLABLE):
            raise ArchError(f"'{name}' is {show(value)}, not an op or block", span)
        return value

    def _apply_once(self, s: syntax.Apply, env, scope, x, name):
        inputs = self._inputs(s.refs, scope, x, s.span)
        in_shape = self._shape(inputs[0])
        value = self._callee(s.callee, env, s.span)
        args, kwargs = self._eval_args(s.args or (), env, in_shape)
        target, pargs, pkwargs = unwrap(value)
        pkwargs.update(kwargs)
        return self.apply(target, pargs + args, pkwargs, scope, inputs, name, s.span)

    def apply(self, target, args, kwargs, scope: Scope, inputs, name, span):
        """Apply an op or block to input node keys; returns the output node key."""
        key_name = name if name is not None else str(scope.position)
        scope.position += 1
        if isinstance(target, OpValue):
            out = self._apply_op(target.op, args, kwargs, scope, inputs, key_name, span)
        elif isinstance(target, DefValue) and isinstance(target.defn, syntax.BlockDef):
            if len(inputs) != 1:
                raise ArchError(f"block {target.name} takes one input, got {len(inputs)} "
                                f"from `from`", span)
            out = self._apply_block(target, args, kwargs, scope, inputs[0], key_name, span)
        else:
            raise ArchError(f"{target.describe()} cannot be applied inside a body", span)
        if name is not None:
            self._register(scope, name, out, span)
        return out

    def _apply_op(self, op, args, kwargs, scope, inputs, key_name, span):
        if not op.merge and len(inputs) != 1:
            raise ArchError(f"{op.name} takes one input, got {len(inputs)}; "
                            f"merge them with concat/add/mul/mean first", span)
        if op.merge and len(inputs) < 2 and not args:
            pass  # a merge of one input is the identity; allowed for loops that build lists
        bound = self._bind_op(op, args, kwargs, span)
        in_shapes = [self._shape(i) for i in inputs]
        out_shape = op.shape(bound, in_shapes)
        key = scope.key(key_name)
        self._add(key, op.name, bound, out_shape, scope, span, inputs)
        return key

    def _bind_op(self, op, args, kwargs, span) -> dict:
        schema = op.params
        if len(args) > len(schema):
            raise ArchError(f"{op.name} takes at most {len(schema)} positional arguments, "
                            f"got {len(args)}", span)
        bound = {}
        for p, v in zip(schema, args):
            bound[p.name] = v
        names = {p.name: p for p in schema}
        for k, v in kwargs.items():
            if k not in names:
                hint = f"; it takes {', '.join(names)}" if names else "; it takes none"
                raise ArchError(f"{op.name} has no parameter '{k}'{hint}", span)
            if k in bound:
                raise ArchError(f"{op.name}: '{k}' given twice", span)
            bound[k] = v
        for p in schema:
            if p.name not in bound:
                if p.default is ops.REQUIRED:
                    raise ArchError(f"{op.name} needs argument '{p.name}'", span)
                bound[p.name] = p.default
            else:
                try:
                    bound[p.name] = ops.check(op.name, p, bound[p.name])
                except ArchError as e:
                    raise e.with_span(span)
        return bound

    def _apply_block(self, target: DefValue, args, kwargs, scope, x, key_name, span):
        if len(self.chain) >= MAX_CALL_DEPTH:
            raise ArchError(f"recursion too deep: more than {MAX_CALL_DEPTH} nested block calls "
                            f"(calling {target.name})", span)
        self.chain.append((target.name, span))
        try:
            env = self._bind(target, args, kwargs, span)
            inner = self._open_scope(scope, key_name, target.name, span)
            inner.names["in"] = x
            out = self.body(target.defn.body, env, inner, x)
        finally:
            self.chain.pop()
        return out

    def _open_scope(self, scope: Scope, name: str, kind: str, span) -> Scope:
        path = scope.prefix + name
        scopes = self.graph.graph["scopes"]
        if path in scopes or path in self.graph:
            raise ArchError(f"name '{path}' is already used in this network", span)
        scopes[path] = {"kind": kind, "span": span, "aux": scope.aux}
        return Scope(path + ".", scope.path + (path,), aux=scope.aux)

    def _register(self, scope: Scope, name: str, out: str, span):
        scope.names[name] = out
        self.graph.graph["labels"][scope.prefix + name] = out

    def _bind(self, target: DefValue, args, kwargs, span) -> Env:
        """Bind call arguments to a definition's parameters; defaults see earlier parameters."""
        defn = target.defn
        params = defn.params
        env = Env(target.scope)
        if len(args) > len(params):
            raise ArchError(f"{defn.name} takes {len(params)} arguments, got {len(args)}", span)
        names = [p.name for p in params]
        given = dict(zip(names, args))
        for k, v in kwargs.items():
            if k not in names:
                raise ArchError(f"{defn.name} has no parameter '{k}' "
                                f"(it takes {', '.join(names) or 'none'})", span)
            if k in given:
                raise ArchError(f"{defn.name}: argument '{k}' given twice", span)
            given[k] = v
        for p in params:
            if p.name in given:
                env.vars[p.name] = given[p.name]
            elif p.default is not None:
                env.vars[p.name] = self.eval(p.default, env, None)
            else:
                raise ArchError(f"{defn.name} needs argument '{p.name}'", span)
        return env

    def _stmt_Group(self, s: syntax.Group, env, scope, x):
        n = self._repeat(s.repeat, env, x)
        name = self._label(s.label, env, x)
        if name is None:
            for _ in range(n):
                x = self.body(s.body, env.child(), scope, x)
            return x
        inner = self._open_scope(scope, name, "group", s.span)
        inner.names["in"] = x
        if s.repeat is None:
            out = self.body(s.body, env.child(), inner, x)
        else:
            out = x
            for i in range(n):
                sub = self._open_scope(inner, str(i), "group", s.span)
                sub.names["in"] = out
                out = self.body(s.body, env.child(), sub, out)
        self._register(scope, name, out, s.span)
        return out

    # -- merges
    def _branches(self, stmts, env, scope, x) -> list:
        """Each statement of a parallel body is one branch fed with x; for/if/let expand."""
        self._step(1 + len(stmts))
        outs = []
        for s in stmts:
            try:
                if isinstance(s, syntax.Let):
                    self._stmt_Let(s, env, scope, x)
                elif isinstance(s, syntax.For):
                    for value in self._iterate(s, env, x):
                        inner = env.child()
                        inner.vars[s.var] = value
                        outs.extend(self._branches(s.body, inner, scope, x))
                elif isinstance(s, syntax.If):
                    chosen = self._choose(s, env, x)
                    if chosen:
                        outs.extend(self._branches(chosen, env.child(), scope, x))
                else:
                    outs.append(self.stmt(s, env, scope, x))
            except ArchError as e:
                raise e.with_span(s.span).with_chain(tuple(self.chain))
        return outs

    def merge(self, kind: str, outs: list, scope: Scope, span) -> str:
        if len(outs) == 1:
            return outs[0]
        op = ops.OPS[kind]
        shapes = [self._shape(o) for o in outs]
        try:
            out_shape = op.shape({}, shapes)
        except ArchError as e:
            raise e.with_span(span)
        key = self._merge_key(scope, kind)
        self._add(key, kind, {}, out_shape, scope, span, outs)
        return key

    def _merge_key(self, scope: Scope, kind: str) -> str:
        # '#' cannot appear in a user's name, so implicit merges never collide with one.
        n = 0
        while f"{scope.prefix}{kind}#{n}" in self.graph:
            n += 1
        return f"{scope.prefix}{kind}#{n}"

    def _stmt_Parallel(self, s: syntax.Parallel, env, scope, x):
        op = ops.lookup(s.merge)
        if op is None or op.merge is None:
            raise ArchError(f"parallel needs one of {', '.join(ops.merges())}, got '{s.merge}'",
                            s.span)
        outs = self._branches(s.body, env.child(), scope, x)
        if not outs:
            raise ArchError("parallel has no branches", s.span)
        return self.merge(s.merge, outs, scope, s.span)

    def _stmt_Residual(self, s: syntax.Residual, env, scope, x):
        main = self.body(s.body, env.child(), scope, x)
        short = self.body(s.shortcut, env.child(), scope, x) if s.shortcut else x
        a, b = self._shape(main), self._shape(short)
        if a != b:
            raise ArchError(f"residual: the body gives {list(a)} but the shortcut gives "
                            f"{list(b)}; add a projection in `shortcut {{ ... }}`", s.span)
        return self.merge("add", [main, short], scope, s.span)

    def _stmt_Dense(self, s: syntax.Dense, env, scope, x):
        features = [x]
        for value in self._iterate(s, env, x):
            inner = env.child()
            inner.vars[s.var] = value
            feed = self.merge("concat", features, scope, s.span)
            features.append(self.body(s.body, inner, scope, feed))
        return self.merge("concat", features, scope, s.span)

    def _iterate(self, s, env, x) -> list:
        it = self.eval(s.iterable, env, self._shape(x))
        if not isinstance(it, list):
            raise ArchError(f"for ... in needs a list or range(), got {show(it)}",
                            s.iterable.span)
        return it

    def _stmt_For(self, s: syntax.For, env, scope, x):
        for value in self._iterate(s, env, x):
            inner = env.child()
            inner.vars[s.var] = value
            x = self.body(s.body, inner, scope, x)
        return x

    def _choose(self, s: syntax.If, env, x):
        cond = self.eval(s.cond, env, self._shape(x))
        if not isinstance(cond, bool):
            raise ArchError(f"if needs true or false, got {show(cond)}", s.cond.span)
        return s.then if cond else s.other

    def _stmt_If(self, s: syntax.If, env, scope, x):
        chosen = self._choose(s, env, x)
        return self.body(chosen, env.child(), scope, x) if chosen else x

    def _stmt_Aux(self, s: syntax.Aux, env, scope, x):
        name = self._label(s.label, env, x)
        inputs = self._inputs(s.refs, scope, x, s.span)
        if len(inputs) != 1:
            raise ArchError("aux takes one input", s.span)
        if isinstance(s.target, syntax.Apply) and s.target.label is None:
            # `aux NAME: CALL from REF` names the call NAME, as `NAME: CALL` would (so a
            # block's modules are NAME.conv, ..., not NAME.0.conv); it takes no position.
            view = Scope(scope.prefix, scope.path, scope.names, scope.position, aux=True)
            call = dataclasses.replace(s.target, label=s.label, refs=())
            out = self.stmt(call, env.child(), view, inputs[0])
            self.graph.graph["aux_outputs"].append(out)
            return x
        inner = self._open_scope(scope, name, "aux", s.span)
        inner.aux = True
        self.graph.graph["scopes"][scope.prefix + name]["aux"] = True
        inner.names["in"] = inputs[0]
        out = self.stmt(s.target, env.child(), inner, inputs[0])
        self.graph.graph["aux_outputs"].append(out)
        self._register(scope, name, out, s.span)
        return x

    # ================================================================== graph

    def _shape(self, key: Optional[str]):
        return None if key is None else self.graph.nodes[key]["shape"]

    def _add(self, key, op, args, shape, scope: Scope, span, inputs):
        if key in self.graph or key in self.graph.graph["scopes"]:
            raise ArchError(f"name '{key}' is already used in this network", span)
        if self.graph.number_of_nodes() >= self.max_nodes:
            raise ArchError(f"the network has more than {self.max_nodes:,} ops; "
                            f"raise the limit with --max-nodes if this is intended", span)
        ir.add_node(self.graph, key, op=op, args=args, shape=tuple(shape), scope=scope.path,
                    span=span, aux=scope.aux)
        for port, src in enumerate(inputs):
            self.graph.add_edge(src, key, port=port)

    # ================================================================== expressions

    def eval(self, e, env: Env, in_shape):
        method = getattr(self, "_e_" + type(e).__name__)
        try:
            return method(e, env, in_shape)
        except ArchError as err:
            raise err.with_span(e.span)
        except RecursionError:
            raise ArchError("expression nested too deeply", e.span) from None

    def _e_Num(self, e, env, s):
        return e.value

    def _e_Str(self, e, env, s):
        return e.value

    def _e_Const(self, e, env, s):
        return e.value

    def _e_Name(self, e, env, s):
        try:
            return env.lookup(e.id)
        except KeyError:
            if e.id in BUILTINS or e.id in ("solve", "flops", "params", "macs"):
                raise ArchError(f"'{e.id}' is a builtin function: call it", e.span) from None
            raise ArchError(f"unknown name '{e.id}'", e.span) from None

    def _e_ListExpr(self, e, env, s):
        return [self.eval(i, env, s) for i in e.items]

    def _e_InAttr(self, e, env, s):
        if s is None:
            raise ArchError("`in` is only defined inside a body, for a statement's input", e.span)
        idx = {"c": 0, "h": 1, "w": 2}.get(e.attr)
        if idx is None:
            raise ArchError(f"`in` has c, h and w, not {e.attr!r}", e.span)
        if idx >= len(s):
            raise ArchError(f"in.{e.attr}: the input is the vector {list(s)}", e.span)
        return s[idx]

    def _e_Unary(self, e, env, s):
        v = self.eval(e.operand, env, s)
        if e.op == "not":
            return not _truth(v, e.span)
        _number(v, "-", e.span)
        return -v

    def _e_BoolOp(self, e, env, s):
        spine = [e]  # `a or b or ... or z` nests to the left: a loop, as in _e_BinOp
        while isinstance(spine[-1].left, syntax.BoolOp):
            spine.append(spine[-1].left)
        value = _truth(self.eval(spine[-1].left, env, s), spine[-1].left.span)
        for node in reversed(spine):
            if (node.op == "and") == value:  # `and` after true, `or` after false
                value = _truth(self.eval(node.right, env, s), node.right.span)
        return value

    def _e_Ternary(self, e, env, s):
        cond = _truth(self.eval(e.cond, env, s), e.cond.span)
        return self.eval(e.then if cond else e.other, env, s)

    def _e_Compare(self, e, env, s):
        left = self.eval(e.first, env, s)
        for op, expr in e.rest:
            right = self.eval(expr, env, s)
            if not _compare(op, left, right, e.span):
                return False
            left = right
        return True

    def _e_BinOp(self, e, env, s):
        # `1 + 2 + ... + n` nests to the left: walk that spine with a loop, not recursion, so a
        # long chain never reaches Python's recursion limit.
        spine = [e]
        while isinstance(spine[-1].left, syntax.BinOp):
            spine.append(spine[-1].left)
        value = self.eval(spine[-1].left, env, s)
        for node in reversed(spine):
            value = arith(node.op, value, self.eval(node.right, env, s), node.span)
            if isinstance(value, list):
                self._step(len(value))
        return value

    def _e_Index(self, e, env, s):
        obj = self.eval(e.obj, env, s)
        idx = self.eval(e.index, env, s)
        if not isinstance(obj, (list, str)):
            raise ArchError(f"cannot index {show(obj)}", e.span)
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise ArchError(f"an index must be an integer, got {show(idx)}", e.span)
        if not -len(obj) <= idx < len(obj):
            raise ArchError(f"index {idx} is out of range for a list of {len(obj)}", e.span)
        return obj[idx]

    def _eval_args(self, arg_nodes, env, in_shape):
        args, kwargs = [], {}
        for a in arg_nodes:
            v = self.eval(a.value, env, in_shape)
            if a.name is None:
                if kwargs:
                    raise ArchError("a positional argument follows a keyword argument", a.span)
                args.append(v)
            else:
                if a.name in kwargs:
                    raise ArchError(f"argument '{a.name}' given twice", a.span)
                kwargs[a.name] = v
        return args, kwargs

    def _e_Call(self, e: syntax.Call, env, s):
        fname = e.func.id if isinstance(e.func, syntax.Name) else None
        if fname is not None and not env.is_bound(fname):
            if fname == "solve":
                return self._solve(e, env, s)
            if fname in ("flops", "params", "macs"):
                return self._cost_of(fname, e, env, s)
            if fname in BUILTINS:
                args, kwargs = self._eval_args(e.args, env, s)
                if kwargs:
                    raise ArchError(f"{fname}() takes no keyword arguments", e.span)
                value = BUILTINS[fname](e.span, *args)
                if isinstance(value, list):
                    self._step(len(value))
                return value
        func = self.eval(e.func, env, s)
        if not isinstance(func, CALLABLE):
            raise ArchError(f"{show(func)} is not callable", e.span)
        args, kwargs = self._eval_args(e.args, env, s)
        if isinstance(func, Partial):
            return func.bind(args, kwargs)
        return Partial(func, tuple(args), tuple(kwargs.items()), e.span)

    # -- solve, flops, params
    def _solve(self, e, env, s):
        if len(e.args) != 2 or any(a.name for a in e.args):
            raise ArchError("solve takes (LHS == RHS, VAR)", e.span)
        eq, var = e.args[0].value, e.args[1].value
        if not isinstance(var, syntax.Name):
            raise ArchError("solve's second argument must be the unknown's name", var.span)
        if isinstance(eq, syntax.Compare) and len(eq.rest) == 1 and eq.rest[0][0] == "==":
            lhs, rhs = eq.first, eq.rest[0][1]
        else:
            raise ArchError("solve's first argument must be an equation LHS == RHS", eq.span)
        from .solve import solve_polynomial

        def f(value):
            inner = env.child()
            inner.vars[var.id] = value
            a = self.eval(lhs, inner, s)
            b = self.eval(rhs, inner, s)
            _number(a, "solve", lhs.span)
            _number(b, "solve", rhs.span)
            return a - b

        return solve_polynomial(f, var.id, e.span)

    def _cost_of(self, what, e, env, s):
        from .analysis import totals
        args, kwargs = self._eval_args(e.args, env, s)
        if len(args) != 1 or set(kwargs) - {"in"} or "in" not in kwargs:
            raise ArchError(f"{what} takes (CALL, in=[C, H, W])", e.span)
        value = args[0]
        if not isinstance(value, CALLABLE):
            raise ArchError(f"{what} needs a block or op call, got {show(value)}", e.span)
        shape = self._input_shape(kwargs["in"], e.span)
        key = (id(value), show(value), shape)
        if key not in self._cost_cache:
            sub = Elaborator(self.max_nodes)
            sub.chain = list(self.chain)
            sub.graph = ir.new_graph("cost")
            sub._add(ir.INPUT, ops.INPUT.name, {}, shape, Scope("", ()), e.span, [])
            sub.graph.graph["inputs"] = [ir.INPUT]
            target, pargs, pkwargs = unwrap(value)
            out = sub.apply(target, pargs, pkwargs, Scope("", ()), [ir.INPUT], None, e.span)
            sub.graph.graph["outputs"] = [out]
            self._cost_cache[key] = (totals(sub.graph), value)
        return self._cost_cache[key][0][what]


# ====================================================================== arithmetic and builtins


def _number(v, what, span):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ArchError(f"{what} needs a number, got {show(v)}", span)
    return v


def _truth(v, span) -> bool:
    if not isinstance(v, bool):
        raise ArchError(f"expected true or false, got {show(v)}", span)
    return v


def _checked(v, span):
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ArchError("numeric overflow: the result is not a finite number", span)
    elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= MAX_INT:
        raise ArchError(f"numeric overflow: the result exceeds 2^63", span)
    return v


def arith(op: str, a, b, span):
    if op == "+" and (isinstance(a, list) and isinstance(b, list)
                      or isinstance(a, str) and isinstance(b, str)):
        if len(a) + len(b) > MAX_LOOP:  # `block r(l) { r(l + l) }` must not eat the memory
            raise ArchError(f"{'list' if isinstance(a, list) else 'string'} too large: "
                            f"{len(a) + len(b):,} items (limit {MAX_LOOP:,})", span)
        return a + b
    if op == "*" and isinstance(a, list) and isinstance(b, int) and not isinstance(b, bool):
        if len(a) * max(b, 0) > MAX_LOOP:
            raise ArchError("list too large", span)
        return a * b
    _number(a, f"'{op}'", span)
    _number(b, f"'{op}'", span)
    try:
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        elif op == "*":
            r = a * b
        elif op == "/":
            r = a / b
            if isinstance(r, float) and r.is_integer() and isinstance(a, int) and isinstance(b, int):
                r = float(r)
        elif op == "//":
            r = a // b
        elif op == "%":
            r = a % b
        elif op == "**":
            if isinstance(a, int) and isinstance(b, int) and b >= 0:
                if a not in (0, 1, -1) and b * math.log2(max(abs(a), 2)) > 64:
                    raise ArchError("numeric overflow in '**'", span)
                r = a ** b
            else:
                r = float(a) ** float(b)
                if isinstance(r, complex):
                    raise ArchError("'**' of a negative number to a fractional power", span)
        else:
            raise ArchError(f"unknown operator {op}", span)
    except ZeroDivisionError:
        raise ArchError(f"division by zero in '{op}'", span) from None
    except OverflowError:
        raise ArchError(f"numeric overflow in '{op}'", span) from None
    return _checked(r, span)


def _compare(op, a, b, span) -> bool:
    if op in ("==", "!="):
        same = a == b and type(a) is type(b) or (
            isinstance(a, (int, float)) and isinstance(b, (int, float))
            and not isinstance(a, bool) and not isinstance(b, bool) and a == b)
        return same if op == "==" else not same
    _number(a, f"'{op}'", span)
    _number(b, f"'{op}'", span)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _nums(name, span, args):
    if len(args) == 1 and isinstance(args[0], list):
        args = args[0]
    if not args:
        raise ArchError(f"{name}() of nothing", span)
    for a in args:
        _number(a, name, span)
    return args


def _one(name, fn):
    def call(span, *args):
        if len(args) != 1:
            raise ArchError(f"{name}() takes one argument, got {len(args)}", span)
        return _checked(fn(_number(args[0], name, span), span), span)
    return call


def _sqrt(x, span):
    if x < 0:
        raise ArchError(f"sqrt of a negative number ({x:g})", span)
    return math.sqrt(x)


def _range(span, *args):
    if not 1 <= len(args) <= 3:
        raise ArchError(f"range() takes 1 to 3 arguments, got {len(args)}", span)
    for a in args:
        if not isinstance(a, int) or isinstance(a, bool):
            raise ArchError(f"range() needs integers, got {show(a)}", span)
    if len(args) == 3 and args[2] == 0:
        raise ArchError("range() step must not be zero", span)
    r = range(*args)
    if len(r) > MAX_LOOP:
        raise ArchError(f"loop too large: range of {len(r):,} (limit {MAX_LOOP:,})", span)
    return list(r)


def _len(span, *args):
    if len(args) != 1 or not isinstance(args[0], (list, str)):
        raise ArchError("len() takes one list", span)
    return len(args[0])


def _sum(span, *args):
    return _checked(sum(_nums("sum", span, args)), span)


def _round(span, *args):
    if len(args) == 2:
        if not isinstance(args[1], int) or isinstance(args[1], bool):
            raise ArchError(f"round()'s digits must be an integer, got {show(args[1])}", span)
        return _checked(round(_number(args[0], "round", span), args[1]), span)
    return _one("round", lambda x, sp: int(round(x)))(span, *args)


def _int(x, span):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        raise ArchError("int() of a non-finite number", span)
    return int(x)


BUILTINS = {
    "int": _one("int", _int),
    "round": _round,
    "ceil": _one("ceil", lambda x, sp: math.ceil(x)),
    "floor": _one("floor", lambda x, sp: math.floor(x)),
    "abs": _one("abs", lambda x, sp: abs(x)),
    "sqrt": _one("sqrt", _sqrt),
    "min": lambda span, *a: min(_nums("min", span, a)),
    "max": lambda span, *a: max(_nums("max", span, a)),
    "len": _len,
    "range": _range,
    "sum": _sum,
}
