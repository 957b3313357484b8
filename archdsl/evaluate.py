"""Expressions: what an expression of the language is worth in an environment.

`Env` holds lexical variables (falling back to the file's definitions and the op registry);
`Evaluator.eval` computes a syntax node's value, one method `_e_NODE` per expression node
(a new node, such as a list comprehension, is one more method); `BUILTINS` is the one table of
builtin functions. Most builtins receive their evaluated arguments; lazy forms (`solve`, and
the cost functions `flops`, `params`, `macs`) receive the evaluator and the unevaluated call,
because they evaluate their arguments their own way (solve's unknown is not a variable) or
elaborate a call (the cost functions, through the `cost` function the elaborator gives the
evaluator). `Budget` is the work one elaboration may do, shared by everything it evaluates
and elaborates.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

from . import ops, syntax
from .binding import MISSING, bind
from .errors import ArchError
from .loader import FileScope
from .records import Record
from .suggest import did_you_mean
from .values import CALLABLE, DefValue, Function, IntRange, LogRange, OpValue, Partial, equal, show

MAX_LOOP = 1_000_000  # iterations of one loop, range() length, `x N`, items of a list
MAX_INT = 2 ** 63  # larger numbers are an overflow error
STEPS_PER_NODE = 20  # work budget: statements run and list items built, per allowed IR node
MAX_FUNCTION_DEPTH = 1000  # nested calls of `let` functions
EDGES_PER_NODE = 4  # connections between ops per allowed IR node (a chain has 1)


class Env:
    """Lexical variables: `let`, parameters, loop variables. Falls back to the file scope."""

    __slots__ = ("vars", "parent", "file")

    def __init__(self, file: FileScope, parent: Optional["Env"] = None):
        self.vars: dict = {}
        self.parent = parent
        self.file = file

    def child(self) -> "Env":
        return Env(self.file, self)

    def names(self, callable_only: bool = False) -> set:
        """Every name this environment can look up (for suggestions): variables, the file's
        definitions and the ops; with `callable_only`, those that name something to call."""
        out = set()
        env = self
        while env is not None:
            out.update(k for k, v in env.vars.items()
                       if not callable_only or isinstance(v, CALLABLE))
            env = env.parent
        out.update(self.file.visible)
        out.update(ops.OPS)
        out.update(ops.ALIASES)
        return out

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
            if isinstance(entry[0], syntax.FunctionDef):
                return Function(entry[0], entry[1])
            return DefValue(entry[0], entry[1])
        op = ops.lookup(name)
        if op is not None:
            return OpValue(op)
        raise KeyError(name)


class Budget:
    """The work one elaboration may do (a network's, a `load`'s, an `eval`'s): IR nodes and
    edges built, in every graph it elaborates, and steps (statements run, list items built,
    printed or compared), at most STEPS_PER_NODE steps and EDGES_PER_NODE edges per allowed
    node. One object, shared by the elaboration, its expressions and every elaboration they
    start (each cost function's call, a space's network), so no part of the work gets a
    fresh budget: `{ {} x 1000000 } x 1000000`, a loop of `flops(...)` calls and a dense
    block of 8,000 layers stop alike. `ensure` refuses, before it starts, a repetition whose
    least work is more than what is left."""

    __slots__ = ("max_nodes", "max_edges", "max_steps", "nodes", "edges", "steps")

    def __init__(self, max_nodes: int):
        self.max_nodes = max_nodes
        self.max_edges = EDGES_PER_NODE * max_nodes
        self.max_steps = STEPS_PER_NODE * max_nodes
        self.nodes = self.edges = self.steps = 0

    def step(self, n: int) -> None:
        self.steps += n
        if self.steps > self.max_steps:
            raise ArchError(f"a loop runs too long: elaboration stopped after {self.max_steps:,} "
                            f"steps ({STEPS_PER_NODE} per op of --max-nodes {self.max_nodes:,}; "
                            f"raise it if this is intended)")

    def node(self, edges: int, in_graph: int) -> None:
        """Count one IR node with `edges` inputs, about to be added to a graph that holds
        `in_graph` nodes."""
        if self.nodes >= self.max_nodes:
            if in_graph >= self.max_nodes:
                raise ArchError(f"the network has more than {self.max_nodes:,} ops; raise "
                                f"the limit with --max-nodes if this is intended")
            raise ArchError(f"more than {self.max_nodes:,} ops built in all (cost functions' "
                            f"calls count too); raise the limit with --max-nodes if this is "
                            f"intended")
        if self.edges + edges > self.max_edges:
            raise ArchError(self._edges_message(edges))
        self.nodes += 1
        self.edges += edges

    def ensure(self, what: str, nodes: int = 0, edges: int = 0, steps: int = 0) -> None:
        """Refuse `what` (a repetition about to start) if it needs at least this many more
        nodes, edges or steps than are left."""
        if nodes > self.max_nodes - self.nodes:
            raise ArchError(f"{what} adds at least {nodes:,} ops, more than the "
                            f"{self.max_nodes - self.nodes:,} left of --max-nodes "
                            f"{self.max_nodes:,}; raise it if this is intended")
        if edges > self.max_edges - self.edges:
            raise ArchError(f"{what}: " + self._edges_message(edges))
        if steps > self.max_steps - self.steps:
            raise ArchError(f"a loop runs too long: {what} takes at least {steps:,} steps, more "
                            f"than the {self.max_steps - self.steps:,} left ({STEPS_PER_NODE} "
                            f"per op of --max-nodes {self.max_nodes:,}; raise it if this is "
                            f"intended)")

    def _edges_message(self, edges: int) -> str:
        return (f"{edges:,} more connections between ops would exceed the "
                f"{self.max_edges:,} allowed ({EDGES_PER_NODE} per op of --max-nodes "
                f"{self.max_nodes:,}, {self.max_edges - self.edges:,} left); raise it if this "
                f"is intended")


# ====================================================================== the evaluator


class Evaluator:
    """Evaluates expressions. `cost(value, shape, span)` gives the analysis totals of a block
    or op call applied to an input of `shape` (the elaborator's; used by flops/params/macs)."""

    def __init__(self, budget: Budget, cost: Callable):
        self.budget = budget
        self.cost = cost
        self.chain: list = []  # (name, call span) of the block and function calls around
        self.depth = 0  # nested function calls

    @staticmethod
    def file_env(scope: FileScope) -> Env:
        """The environment of a file's top level: its definitions, the stdlib, the ops."""
        return Env(scope)

    def eval(self, e, env: Env, in_shape):
        try:
            return _EVAL[type(e)](self, e, env, in_shape)
        except ArchError as err:
            raise err.with_span(e.span)
        except RecursionError:
            raise ArchError("expression nested too deeply", e.span) from None

    def args(self, arg_nodes, env: Env, in_shape) -> tuple:
        """The positional and keyword argument values of a call: (list, dict)."""
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
            if e.id in BUILTINS:
                raise ArchError(f"'{e.id}' is a builtin function: call it", e.span) from None
            hint = did_you_mean(e.id, env.names() | set(BUILTINS))
            raise ArchError(f"unknown name '{e.id}'{hint}", e.span) from None

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
            return not truth(v, e.span)
        number(v, "-", e.span)
        return -v

    def _e_BoolOp(self, e, env, s):
        spine = [e]  # `a or b or ... or z` nests to the left: a loop, as in _e_BinOp
        while isinstance(spine[-1].left, syntax.BoolOp):
            spine.append(spine[-1].left)
        value = truth(self.eval(spine[-1].left, env, s), spine[-1].left.span)
        for node in reversed(spine):
            if (node.op == "and") == value:  # `and` after true, `or` after false
                value = truth(self.eval(node.right, env, s), node.right.span)
        return value

    def _e_Ternary(self, e, env, s):
        cond = truth(self.eval(e.cond, env, s), e.cond.span)
        return self.eval(e.then if cond else e.other, env, s)

    def _e_Compare(self, e, env, s):
        left = self.eval(e.first, env, s)
        for op, expr in e.rest:
            right = self.eval(expr, env, s)
            if not compare(op, left, right, e.span, self.budget.step):
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
                self.budget.step(len(value))
        return value

    def _e_Index(self, e, env, s):
        obj = self.eval(e.obj, env, s)
        idx = self.eval(e.index, env, s)
        if not isinstance(obj, (list, str)):
            raise ArchError(f"cannot index {show(obj)}", e.span)
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise ArchError(f"an index must be an integer, got {show(idx)}", e.span)
        if not -len(obj) <= idx < len(obj):
            what = "a string of" if isinstance(obj, str) else "a list of"
            raise ArchError(f"index {idx} is out of range for {what} {len(obj)}", e.span)
        return obj[idx]

    def _e_Call(self, e: syntax.Call, env, s):
        fname = e.func.id if isinstance(e.func, syntax.Name) else None
        if fname is not None and fname in BUILTINS and not env.is_bound(fname):
            builtin = BUILTINS[fname]
            if builtin.lazy:
                return builtin.fn(self, e, env, s)
            args, kwargs = self.args(e.args, env, s)
            if kwargs:
                raise ArchError(f"{fname}() takes no keyword arguments", e.span)
            value = builtin.fn(e.span, *args)
            if isinstance(value, list):
                self.budget.step(len(value))
            return value
        func = self.eval(e.func, env, s)
        if isinstance(func, Function):
            args, kwargs = self.args(e.args, env, s)
            return self.call_function(func, args, kwargs, e.span)
        if not isinstance(func, CALLABLE):
            raise ArchError(f"{show(func)} is not callable", e.span)
        args, kwargs = self.args(e.args, env, s)
        if isinstance(func, Partial):
            return func.bind(args, kwargs)
        return Partial(func, tuple(args), tuple(kwargs.items()), e.span)


    def call_function(self, fn: Function, args, kwargs, span):
        """The value of a `let` function's expression with its parameters bound (defaults
        may use the parameters before them) in the environment it was written in."""
        self.budget.step(1)
        if self.depth >= MAX_FUNCTION_DEPTH:
            raise ArchError(f"recursion too deep: more than {MAX_FUNCTION_DEPTH} nested function "
                            f"calls (calling {fn.name})", span)
        env = (fn.env or self.file_env(fn.scope)).child()

        def default(p, bound):
            return MISSING if p.default is None else self.eval(p.default, env, None)

        bind(fn.name, fn.defn.params, args, kwargs, span, default, into=env.vars)
        self.chain.append((fn.name, span))
        self.depth += 1
        try:
            # Pure: the body sees no statement's input (`in.c`), only its parameters.
            return self.eval(fn.defn.body, env, None)
        except ArchError as err:
            raise err.with_chain(tuple(self.chain))
        finally:
            self.depth -= 1
            self.chain.pop()

    def _e_Slice(self, e, env, s):
        obj = self.eval(e.obj, env, s)
        if not isinstance(obj, (list, str)):
            raise ArchError(f"cannot slice {show(obj)}", e.span)
        bounds = []
        for part in (e.lo, e.hi, e.step):
            v = None if part is None else self.eval(part, env, s)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
                raise ArchError(f"a slice bound must be an integer or none, got {show(v)}",
                                part.span)
            bounds.append(v)
        if bounds[2] == 0:
            raise ArchError("a slice step must not be zero", e.step.span)
        value = obj[slice(*bounds)]
        if isinstance(value, list):
            value = list(value)  # a slice of range() is a plain list
            self.budget.step(len(value))
        return value

    def _e_Comprehension(self, e, env, s):
        out: list = []
        self._clauses(e, 0, env, s, out)
        return out

    def _clauses(self, e, i, env, s, out):
        """Clause i of a comprehension (its `for`, then its `if`s) around the next ones."""
        if i == len(e.clauses):
            if len(out) >= MAX_LOOP:
                raise ArchError(f"list too large: more than {MAX_LOOP:,} items", e.span)
            out.append(self.eval(e.elt, env, s))
            return
        clause = e.clauses[i]
        items = self.eval(clause.iterable, env, s)
        if not isinstance(items, list):
            raise ArchError(f"for ... in needs a list or range(), got {show(items)}",
                            clause.iterable.span)
        for item in items:
            self.budget.step(1)
            inner = env.child()
            bind_target(clause.target, item, inner.vars, clause.span)
            if all(truth(self.eval(c, inner, s), c.span) for c in clause.conds):
                self._clauses(e, i + 1, inner, s, out)


def bind_target(target, value, into: dict, span) -> None:
    """Bind a `for` target (a name, or a tuple of targets) to one item, destructuring lists:
    `for (w, d) in zip(ws, ds)`."""
    if isinstance(target, str):
        into[target] = value
        return
    if not isinstance(value, list) or len(value) != len(target):
        raise ArchError(f"cannot unpack {show(value)} into {len(target)} names", span)
    for t, v in zip(target, value):
        bind_target(t, v, into, span)


# One method per expression node, found by the node's class name (`_e_Call` for syntax.Call).
_EVAL = {getattr(syntax, name[3:]): fn for name, fn in vars(Evaluator).items()
         if name.startswith("_e_")}


# ====================================================================== values


def number(v, what, span):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ArchError(f"{what} needs a number, got {show(v)}", span)
    return v


def truth(v, span) -> bool:
    if not isinstance(v, bool):
        raise ArchError(f"expected true or false, got {show(v)}", span)
    return v


def checked(v, span):
    """`v`, or an overflow error when it is not finite or not below 2^63."""
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            raise ArchError("numeric overflow: the result is not a finite number", span)
    elif isinstance(v, int) and not isinstance(v, bool) and abs(v) >= MAX_INT:
        raise ArchError("numeric overflow: the result exceeds 2^63", span)
    return v


def shape_value(v, span) -> tuple:
    """An input shape written as a value: [C, H, W] (or [N]) of positive integers."""
    if not (isinstance(v, list) and len(v) in (1, 3)
            and all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)):
        raise ArchError(f"input must be [C, H, W] (or [N]) of positive integers, "
                        f"got {show(v)}", span)
    return tuple(v)


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
    number(a, f"'{op}'", span)
    number(b, f"'{op}'", span)
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
    return checked(r, span)


def compare(op, a, b, span, step=None) -> bool:
    """`a OP b`; == and != by `values.equal` (`step` counts the items it visits)."""
    if op in ("==", "!="):
        try:
            same = equal(a, b, step)
        except ArchError as e:
            raise e.with_span(span)
        return same if op == "==" else not same
    number(a, f"'{op}'", span)
    number(b, f"'{op}'", span)
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


# ====================================================================== builtins


class Builtin(Record):
    """A builtin function. `fn(span, *values)`; a lazy one `fn(evaluator, call, env,
    in_shape)`, given its call unevaluated."""
    fn: Callable
    lazy: bool = False


def _nums(name, span, args):
    if len(args) == 1 and isinstance(args[0], list):
        args = args[0]
    if not args:
        raise ArchError(f"{name}() of nothing", span)
    for a in args:
        number(a, name, span)
    return args


def _one(name, fn):
    def call(span, *args):
        if len(args) != 1:
            raise ArchError(f"{name}() takes one argument, got {len(args)}", span)
        return checked(fn(number(args[0], name, span), span), span)
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
    lo, hi, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1],
                                                           args[2] if len(args) == 3 else 1)
    n = len(range(lo, hi, step))
    if n > MAX_LOOP:
        raise ArchError(f"loop too large: range of {n:,} (limit {MAX_LOOP:,})", span)
    return IntRange(lo, hi, step)


def _len(span, *args):
    if len(args) != 1 or not isinstance(args[0], (list, str)):
        raise ArchError("len() takes one list", span)
    return len(args[0])


def _sum(span, *args):
    return checked(sum(_nums("sum", span, args)), span)


def _round(span, *args):
    if len(args) == 2:
        if not isinstance(args[1], int) or isinstance(args[1], bool):
            raise ArchError(f"round()'s digits must be an integer, got {show(args[1])}", span)
        return checked(round(number(args[0], "round", span), args[1]), span)
    return _one("round", lambda x, sp: int(round(x)))(span, *args)


def _int(x, span):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        raise ArchError("int() of a non-finite number", span)
    return int(x)


def _positive_log(fn):
    def log(x, span):
        if x <= 0:
            raise ArchError(f"log of a number that is not positive ({x:g})", span)
        return fn(x)
    return log


def _log(span, *args):
    # log(x) is the natural logarithm; log(lo, hi) a search-space domain, whose bounds
    # `param` checks, where it can name the param.
    if len(args) == 1:
        return _one("log", _positive_log(math.log))(span, *args)
    return LogRange(tuple(args))


def _exp(x, span):
    try:
        return math.exp(x)
    except OverflowError:
        raise ArchError("numeric overflow in exp()", span) from None


def _lists(name, span, args, n=None):
    if n is not None and len(args) not in n:
        raise ArchError(f"{name}() takes {' or '.join(map(str, n))} arguments, got {len(args)}",
                        span)
    for a in args:
        if not isinstance(a, list):
            raise ArchError(f"{name}() needs lists, got {show(a)}", span)


def _zip(span, *args):
    """Python's zip, as a list of lists: as long as the shortest."""
    if not args:
        raise ArchError("zip() of nothing", span)
    _lists("zip", span, args)
    return [list(t) for t in zip(*args)]


def _enumerate(span, *args):
    """[[start, x0], [start + 1, x1], ...]"""
    _lists("enumerate", span, args[:1], (1, 2))
    start = args[1] if len(args) == 2 else 0
    if not isinstance(start, int) or isinstance(start, bool):
        raise ArchError(f"enumerate()'s start must be an integer, got {show(start)}", span)
    return [[start + i, x] for i, x in enumerate(args[0])]


def _cumsum(span, *args):
    """The running sums of a list of numbers: cumsum([1, 2, 3]) is [1, 3, 6]."""
    _lists("cumsum", span, args, (1,))
    out, total = [], 0
    for x in args[0]:
        total = checked(total + number(x, "cumsum", span), span)
        out.append(total)
    return out


def _solve(ev: Evaluator, e: syntax.Call, env: Env, s):
    """solve(LHS == RHS, VAR): VAR is a fresh unknown, so the equation is evaluated at the
    values solve_polynomial samples, never as it stands."""
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
        a = ev.eval(lhs, inner, s)
        b = ev.eval(rhs, inner, s)
        number(a, "solve", lhs.span)
        number(b, "solve", rhs.span)
        return a - b

    return solve_polynomial(f, var.id, e.span)


def _cost_form(what: str):
    """flops/params/macs(CALL, in=[C, H, W]): the analysis total of CALL on that input."""
    def form(ev: Evaluator, e: syntax.Call, env: Env, s):
        args, kwargs = ev.args(e.args, env, s)
        if len(args) != 1 or set(kwargs) - {"in"} or "in" not in kwargs:
            raise ArchError(f"{what} takes (CALL, in=[C, H, W])", e.span)
        value = args[0]
        if not isinstance(value, CALLABLE):
            raise ArchError(f"{what} needs a block or op call, got {show(value)}", e.span)
        return ev.cost(value, shape_value(kwargs["in"], e.span), e.span)[what]
    return form


BUILTINS: dict[str, Builtin] = {
    "int": Builtin(_one("int", _int)),
    "round": Builtin(_round),
    "ceil": Builtin(_one("ceil", lambda x, sp: math.ceil(x))),
    "floor": Builtin(_one("floor", lambda x, sp: math.floor(x))),
    "abs": Builtin(_one("abs", lambda x, sp: abs(x))),
    "sqrt": Builtin(_one("sqrt", _sqrt)),
    "min": Builtin(lambda span, *a: min(_nums("min", span, a))),
    "max": Builtin(lambda span, *a: max(_nums("max", span, a))),
    "len": Builtin(_len),
    "range": Builtin(_range),
    "sum": Builtin(_sum),
    "log": Builtin(_log),
    "log2": Builtin(_one("log2", _positive_log(math.log2))),
    "exp": Builtin(_one("exp", _exp)),
    "zip": Builtin(_zip),
    "enumerate": Builtin(_enumerate),
    "cumsum": Builtin(_cumsum),
    "solve": Builtin(_solve, lazy=True),
    "flops": Builtin(_cost_form("flops"), lazy=True),
    "params": Builtin(_cost_form("params"), lazy=True),
    "macs": Builtin(_cost_form("macs"), lazy=True),
}
