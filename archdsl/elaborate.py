"""Elaboration: statements to the IR, the only place with the semantics of statements. Expands
blocks, loops and conditionals, names every op, infers shapes and builds the IR (a networkx
DiGraph whose node keys are dotted module paths; docs/design.md, "The IR"). Expressions are
evaluated by `evaluate.py`, call arguments bound by `binding.py`.

A search space is elaborated here too: `param`, `require` and its `network` are statements
like the others. `Elaborator.space` runs a space's body for one point, asking an answerer
(`FirstAnswer`, or the search's Optuna trial) for each `param` it reaches; the result is a
`Point`: the values drawn and derived, the network built and analysed, and one constraint
value per `require`.

Every error raised here carries the span of the statement that caused it and, inside blocks,
the chain of call sites.
"""
from __future__ import annotations

import functools
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from itertools import islice
from typing import Optional, Protocol

from . import analysis, ir, ops, records, syntax
from .binding import bind_definition, bind_op
from .errors import ArchError, Span, source_text
from .evaluate import MAX_LOOP, Budget, Env, Evaluator, bind_target, compare, shape_value
from .names import check_layer_name
from .suggest import did_you_mean
from .values import CALLABLE, DefValue, Function, IntRange, LogRange, OpValue, Partial, is_data, \
    literal, show, unwrap
from .values import key as value_key

MAX_NODES = 1_000_000  # IR nodes one elaboration may create (--max-nodes)
MAX_CALL_DEPTH = 200  # nested block calls

# Statements that contribute the branches of what they run to a `parallel` body (and bind
# names), rather than being a branch themselves.
_CONTROL = (syntax.Let, syntax.FunctionDef, syntax.For, syntax.If)


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


# ====================================================================== search-space points

TOTALS = ("flops", "params", "macs", "memory")  # what a `require` may read of the network
VALID = "valid"  # the constraint set (to 1) when the network could not be built


class Answerer(Protocol):
    """What answers a space's `param` draws: the value of param `name` in `domain` (a
    non-empty list, an IntRange or a LogRange; see values.py)."""

    def answer(self, name: str, domain): ...


class FirstAnswer:
    """Every param takes the first value of its domain: "the first point" of a space, which
    `check` builds (no Optuna needed)."""

    def answer(self, name: str, domain):
        if isinstance(domain, LogRange):
            return float(domain.bounds[0])
        return domain[0]


@dataclass
class Point:
    """One elaborated point of a space: what a trial drew, derived and built."""
    params: dict = field(default_factory=dict)  # param name -> value (as the language sees it)
    derived: dict = field(default_factory=dict)  # let name -> value (data only)
    value: object = None  # the network call (a Partial)
    graph: object = None  # the IR, when built
    totals: Optional[dict] = None  # analysis totals, when built
    constraints: dict = field(default_factory=dict)  # require text -> value (<= 0 satisfied)
    error: Optional[str] = None  # why the network could not be built
    network_span: object = None

    @property
    def feasible(self) -> bool:
        return self.error is None and self.graph is not None and all(
            v <= 0 for v in self.constraints.values())


@dataclass
class _Drawing:
    """The state of elaborating one point of a space."""
    answerer: object
    env: Env  # the space's environment: params bind here, wherever they are drawn
    point: Point = field(default_factory=Point)
    deferred: list = field(default_factory=list)  # (require, env) that read the totals


class _Infeasible(Exception):
    """A `let` of a space failed for this point (solve found no root, ...): the point has
    no network, and the space itself is not wrong."""


# ====================================================================== the block cache


class _Uncacheable(Exception):
    """A block call whose arguments the cache cannot key on (a search domain, ...)."""


MAX_KEY_ITEMS = 10_000  # list items one cache key may read; a call with more is not cached


def _value_key(v, pins: list, left=None):
    """A hashable key equal for values that elaborate alike; definitions by identity (their
    objects are kept in `pins`, so that no id is reused while an entry holds it). Lists may
    share their items (2^40 items in 40 doublings): past MAX_KEY_ITEMS items read, or nested
    deeper than Python's stack allows, the call is not cached."""
    left = [MAX_KEY_ITEMS] if left is None else left
    t = type(v)
    if v is None or t in (bool, int, float, str):
        return (t, v)  # the type too: 1, 1.0 and true are equal in Python, not here
    if t is list:
        left[0] -= len(v)
        if left[0] < 0:
            raise _Uncacheable
        try:
            return (t, tuple(_value_key(x, pins, left) for x in v))
        except RecursionError:
            raise _Uncacheable from None
    if t is DefValue:
        pins.append(v.defn)
        return (t, id(v.defn), _scope_key(v.scope, pins))
    if t is OpValue:
        return (t, v.op.name)
    if t is Partial:
        return (t, _value_key(v.target, pins, left),
                tuple(_value_key(a, pins, left) for a in v.args),
                tuple((k, _value_key(x, pins, left)) for k, x in v.kwargs))
    raise _Uncacheable


def _scope_key(file_scope, pins: list):
    modules = file_scope.modules()
    pins.append(modules)
    return tuple(map(id, modules))


@dataclass
class _Elaborated:
    """What one block call added to the graph, relative to its scope path P: nodes
    (key, op, args, shape, scope paths, span, aux, inputs) with keys and scope paths
    without "P.", an input None being the block's own input; the scopes and labels it
    opened, its aux outputs, its output (None: its input), and what replaying it must
    respect: the work it did and how deep its calls nested."""
    nodes: list
    scopes: list
    labels: list
    aux_outputs: list
    out: Optional[str]
    steps: int
    depth: int
    pins: list


class BlockCache:
    """Elaborated block calls, for reuse: a block called with the same arguments on an input
    of the same shape adds the same ops, so a second call (in the same elaboration, as
    ResNet-152's 36 alike units of layer3, or in a later one, as the language server's after
    an edit) replays them under its own path instead of running the body again. Keyed on the
    definition and the parsed modules its file sees, by identity (a file parsed again after an
    edit gives new objects, so an edited block, or one whose callees changed, is elaborated
    again), the bound arguments, the input shape and whether it is inside an aux head.
    Bounded by the ops it holds, least recently used first out."""

    def __init__(self, max_ops: int = 100_000):
        self.max_ops = max_ops
        self.ops = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key) -> Optional[_Elaborated]:
        with self._lock:  # a search's trials may elaborate in threads (--n-jobs)
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, key, entry: _Elaborated) -> None:
        size = len(entry.nodes)
        with self._lock:
            if size > self.max_ops // 4 or key in self._entries:
                return
            self._entries[key] = entry
            self.ops += size
            while self.ops > self.max_ops:
                _, old = self._entries.popitem(last=False)
                self.ops -= len(old.nodes)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.ops = 0


BLOCK_CACHE = BlockCache()  # the process's: every elaboration shares it by default


# ====================================================================== the elaborator


@functools.lru_cache(maxsize=4096)
def _template_expr(text: str, where: str):
    """A name template's `{EXPR}`, parsed once: a RegNet names each of its blocks with one
    (`"block{i}-{k}"`), and a search elaborates it in every trial (syntax nodes are frozen,
    so one parse serves them all)."""
    return syntax.parse_expr(text, file=where)


class Elaborator:
    def __init__(self, max_nodes: Optional[int] = None, *, budget: Optional[Budget] = None,
                 cache: Optional[BlockCache] = BLOCK_CACHE):
        # MAX_CALL_DEPTH nested blocks take ~10 Python frames each; Python 3.11 frames of
        # Python-to-Python calls live off the C stack, so a higher limit is safe.
        sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))
        # Loops that add few ops (`{ {} x 1000000 } x 1000000`) would run for days under the
        # node limit alone: a budget of work, proportional to it, stops them too. Elaborations
        # this one starts (cost functions, a space's network) share it.
        self.budget = budget or Budget(max_nodes or MAX_NODES)
        self.evaluator = Evaluator(self.budget, self.cost)
        self.eval = self.evaluator.eval
        self.graph = None
        self.chain: list = self.evaluator.chain  # (callee name, call span); functions' too
        self._costs: dict = {}
        self._drawing: Optional[_Drawing] = None  # while elaborating a space's point
        self.input_override: Optional[tuple] = None  # summary/compile --input C,H,W
        self.cache = cache  # None: every block call runs its body
        self._added: list = []  # node keys in the order they were added
        self._deepest = 0  # the longest call chain a block call's depth check saw

    @property
    def max_nodes(self) -> int:
        return self.budget.max_nodes

    def _sub(self) -> "Elaborator":
        """An elaboration started by this one: same budget, call chain, block cache and cost
        cache."""
        sub = Elaborator(budget=self.budget, cache=self.cache)
        sub.chain.extend(self.chain)
        sub._costs = self._costs
        return sub

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
        env = self.bind(target, args, kwargs, span or defn.span)
        body = defn.body
        if not body or not isinstance(body[0], syntax.Input):
            raise ArchError(f"network {defn.name} must start with `input [C, H, W]`",
                            body[0].span if body else defn.span)
        shape = shape_value(self.eval(body[0].shape, env, None), body[0].span)
        if self.input_override is not None:
            shape = tuple(self.input_override)
        top = self._begin(shape, body[0].span)
        return self._end(self.body(body[1:], env, top, ir.INPUT))

    def _begin(self, shape: tuple, span) -> Scope:
        """The graph's input node (of `shape`); returns the top scope."""
        self.graph.graph["input_shape"] = list(shape)
        top = Scope("", ())
        self._add(ir.INPUT, ops.INPUT.name, {}, shape, top, span, [])
        self.graph.graph["inputs"] = [ir.INPUT]
        return top

    def _end(self, out: str):
        self.graph.graph["outputs"] = [out]
        return self.graph

    def cost(self, value, shape: tuple, span) -> dict:
        """The analysis totals of a block or op call applied to an input of `shape` (what
        flops/params/macs(...) read): elaborated on its own graph, within this budget."""
        # Keyed by what the call is, not by the object: `flops(r(n - 1), ...)` written three
        # times in `r(n)` elaborates once per n, not 3^n times.
        key = (value_key(value, self.budget.step), shape)
        if key not in self._costs:
            sub = self._sub()
            sub.graph = ir.new_graph("cost")
            top = sub._begin(shape, span)
            target, args, kwargs = unwrap(value)
            sub._end(sub.apply(target, args, kwargs, top, [ir.INPUT], None, span))
            self._costs[key] = (analysis.totals(sub.graph), value)  # the value keeps its id
        return self._costs[key][0]

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

    def bind(self, target: DefValue, args, kwargs, span) -> Env:
        """The environment of a block, network or space called with these arguments."""
        return bind_definition(target, args, kwargs, span, self.evaluator)

    # ================================================================== statements

    def body(self, stmts, env: Env, scope: Scope, x: str, branches: Optional[list] = None):
        """Run statements in order. In sequence (`branches` None) each takes the previous
        one's output and the last output is returned. In a `parallel` body (`branches` a
        list) each statement is a branch fed with `x`, whose output is appended to
        `branches`; `let`, `for` and `if` contribute the branches of what they run."""
        self.budget.step(1 + len(stmts))
        for s in stmts:
            if branches is None:
                x = self.stmt(s, env, scope, x)
            elif isinstance(s, _CONTROL):
                self.stmt(s, env, scope, x, branches)
            else:
                branches.append(self.stmt(s, env, scope, x))
        return x

    def stmt(self, s, env: Env, scope: Scope, x: str, branches: Optional[list] = None) -> str:
        try:
            method = _STMT[type(s)]
        except KeyError:
            raise ArchError(f"`{type(s).__name__.lower()}` is not allowed here", s.span) from None
        try:
            if branches is None:
                return method(self, s, env, scope, x)
            return method(self, s, env, scope, x, branches)
        except ArchError as e:
            raise e.with_span(s.span).with_chain(tuple(self.chain))
        except RecursionError:
            raise ArchError("nesting too deep", s.span, tuple(self.chain)) from None

    def _stmt_Input(self, s, env, scope, x):
        raise ArchError("`input` may only be the first statement of a network", s.span)

    def _stmt_Let(self, s, env, scope, x, branches=None):
        try:
            value = self.eval(s.value, env, self._shape(x))
        except ArchError as e:
            if self._drawing is None:
                raise
            raise _Infeasible(e.with_span(s.span).format()) from None
        env.vars[s.name] = value
        if self._drawing is not None and is_data(value):
            self._drawing.point.derived[s.name] = value
        return x

    def _stmt_FunctionDef(self, s, env, scope, x, branches=None):
        # Bound in the environment it closes over, so it can call itself.
        env.vars[s.name] = Function(s, env.file, env)
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
        text = self._template(label, env, x) if label.template else label.text
        return check_layer_name(text, label.span)

    def _template(self, label, env, x) -> str:
        """A quoted name's text with each `{EXPR}` replaced by its value; `{{` and `}}` are
        literal braces."""
        out, pos, text = [], 0, label.text
        for m in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}", text):
            out.append(text[pos:m.start()])
            pos = m.end()
            if m.group(1) is None:
                out.append(m.group(0)[0])
                continue
            where = label.span.file + "#template"
            try:
                expr = _template_expr(m.group(1), where)
                value = self.eval(expr, env, self._shape(x))
            except ArchError as e:
                if e.span is None or e.span.file != where:
                    raise
                # Locate it at the label: the template's own text is not a file to point into.
                raise ArchError(f"in the name template {{{show(m.group(1))[1:-1]}}}: "
                                f"{e.message}", label.span) from None
            out.append(show(value, self.budget.step) if not isinstance(value, str) else value)
        out.append(text[pos:])
        return "".join(out)

    def _stmt_Apply(self, s: syntax.Apply, env, scope, x):
        n = self._repeat(s.repeat, env, x)
        if n > 1:
            once = records.replace(s, repeat=None, label=None)
            self._ensure(s.repeat, f"x {n:,}", n, (once,), env)
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

    def _inputs(self, refs, scope, x) -> list:
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
            names = sorted(k for k in scope.names if k != "in")
            hint = did_you_mean(dotted, names)
            raise ArchError(f"unknown name '{dotted}' in from{hint} (names here: "
                            f"{', '.join(names) or 'none yet'})", ref.span)
        return found

    def _callee(self, name: str, env: Env, span):
        try:
            value = env.lookup(name)
        except KeyError:
            hint = did_you_mean(name, env.names(callable_only=True))
            raise ArchError(f"unknown op or block '{name}'{hint}", span) from None
        if not isinstance(value, CALLABLE):
            raise ArchError(f"'{name}' is {show(value)}, not an op or block", span)
        return value

    def _apply_once(self, s: syntax.Apply, env, scope, x, name):
        inputs = self._inputs(s.refs, scope, x)
        in_shape = self._shape(inputs[0])
        value = self._callee(s.callee, env, s.span)
        args, kwargs = self.evaluator.args(s.args or (), env, in_shape)
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
        # A merge of one input is allowed (loops that build lists of branches), and is the
        # identity; any other op takes exactly one.
        if op.merge is None and len(inputs) != 1:
            raise ArchError(f"{op.name} takes one input, got {len(inputs)}; "
                            f"merge them with {'/'.join(ops.merges())} first", span)
        bound = bind_op(op, args, kwargs, span)
        out_shape = op.shape(bound, [self._shape(i) for i in inputs])
        key = scope.key(key_name)
        self._add(key, op.name, bound, out_shape, scope, span, inputs)
        return key

    def _apply_block(self, target: DefValue, args, kwargs, scope, x, key_name, span):
        self._deepest = max(self._deepest, len(self.chain))
        if len(self.chain) >= MAX_CALL_DEPTH:
            raise ArchError(f"recursion too deep: more than {MAX_CALL_DEPTH} nested block calls "
                            f"(calling {target.name})", span)
        self.chain.append((target.name, span))
        try:
            env = self.bind(target, args, kwargs, span)
            inner = self._open_scope(scope, key_name, target.name, span)
            inner.names["in"] = x
            key = self._cache_key(target, env, x, scope)
            entry = None if key is None else self.cache.get(key[0])
            if entry is not None and self._replay(entry, inner, x):
                return self._outer(entry.out, inner, x)
            out = self._elaborate_block(target, env, inner, x, key)
        finally:
            self.chain.pop()
        return out

    # -- the block cache (BlockCache): recording a call's additions, replaying them

    def _cache_key(self, target: DefValue, env: Env, x: str, scope: Scope):
        if self.cache is None:
            return None
        pins: list = [target.defn]
        try:
            left = [MAX_KEY_ITEMS]
            args = tuple((k, _value_key(v, pins, left)) for k, v in env.vars.items())
        except _Uncacheable:
            return None
        key = (id(target.defn), _scope_key(target.scope, pins), args, self._shape(x),
               scope.aux)
        return key, pins

    def _elaborate_block(self, target, env, inner: Scope, x: str, key):
        graph = self.graph.graph
        n_added, n_scopes, n_labels = len(self._added), len(graph["scopes"]), len(graph["labels"])
        n_aux, steps, deepest = len(graph["aux_outputs"]), self.budget.steps, self._deepest
        self._deepest = len(self.chain) - 1
        try:
            out = self.body(target.defn.body, env, inner, x)
            depth = self._deepest - (len(self.chain) - 1)
        finally:
            self._deepest = max(self._deepest, deepest)
        if key is not None:
            entry = self._record(inner, x, out, n_added, len(graph["scopes"]) - n_scopes,
                                 len(graph["labels"]) - n_labels, graph["aux_outputs"][n_aux:],
                                 self.budget.steps - steps, depth, key[1])
            if entry is not None:
                self.cache.put(key[0], entry)
        return out

    def _record(self, inner: Scope, x, out, n_added, n_scopes, n_labels, aux, steps, depth,
                pins) -> Optional[_Elaborated]:
        prefix, cut, outer = inner.prefix, len(inner.prefix), len(inner.path)
        nodes = []
        for key in self._added[n_added:]:
            d = self.graph.nodes[key]
            inputs = []
            for src in ir.predecessors(self.graph, key):
                if src == x:
                    inputs.append(None)
                elif src.startswith(prefix):
                    inputs.append(src[cut:])
                else:
                    return None  # reads a node outside the block: not a function of x alone
            nodes.append((key[cut:], d["op"], d["args"], d["shape"],
                          tuple(p[cut:] for p in d["scope"][outer:]), d["span"], d["aux"],
                          inputs))
        scopes = [(p[cut:], dict(e)) for p, e in
                  reversed(list(islice(reversed(self.graph.graph["scopes"].items()), n_scopes)))]
        labels = [(k[cut:], None if v == x else v[cut:]) for k, v in
                  reversed(list(islice(reversed(self.graph.graph["labels"].items()), n_labels)))]
        return _Elaborated(nodes, scopes, labels, [a[cut:] for a in aux],
                           None if out == x else out[cut:], steps, depth, pins)

    def _replay(self, entry: _Elaborated, inner: Scope, x: str) -> bool:
        """Add a cached call's ops under `inner`; False (nothing added) when the call would
        not elaborate alike here: over the node limit, the work budget or the call depth,
        which the real elaboration then reports where it happens (so the limits `_add` checks
        per node are checked here for all of them at once)."""
        g, prefix, path, budget = self.graph, inner.prefix, inner.path, self.budget
        edges_in = sum(len(n[7]) for n in entry.nodes)
        if (budget.nodes + len(entry.nodes) > budget.max_nodes
                or budget.edges + edges_in > budget.max_edges
                or budget.steps + entry.steps > budget.max_steps
                or len(self.chain) - 1 + entry.depth >= MAX_CALL_DEPTH
                or any(prefix + n[0] in g for n in entry.nodes)):
            return False
        # What `_add` would count node by node (its other checks held when the call was
        # elaborated, on the same arguments and shapes).
        budget.step(entry.steps)
        budget.nodes += len(entry.nodes)
        budget.edges += edges_in
        scopes, labels = g.graph["scopes"], g.graph["labels"]
        for p, e in entry.scopes:
            scopes[prefix + p] = dict(e)
        nodes, edges, paths = [], [], {}
        for key, op, args, shape, inner_paths, span, aux, inputs in entry.nodes:
            key = prefix + key
            full = paths.get(inner_paths)
            if full is None:
                full = paths[inner_paths] = path + tuple(prefix + p for p in inner_paths)
            nodes.append((key, {"op": op, "args": dict(args), "shape": shape, "scope": full,
                                "span": span, "aux": aux}))
            for port, src in enumerate(inputs):
                edges.append((x if src is None else prefix + src, key, {"port": port}))
        # In bulk (half the time of `_add` per node), keys first: networkx takes a (key, attrs)
        # pair through a caught TypeError per node; `g.nodes[key]` is the node's own dict.
        g.add_nodes_from(key for key, _ in nodes)
        view = g.nodes
        for key, attrs in nodes:
            view[key].update(attrs)
        g.add_edges_from(edges)
        self._added.extend(key for key, _ in nodes)
        for k, v in entry.labels:
            labels[prefix + k] = x if v is None else prefix + v
        g.graph["aux_outputs"].extend(prefix + a for a in entry.aux_outputs)
        return True

    @staticmethod
    def _outer(out: Optional[str], inner: Scope, x: str) -> str:
        return x if out is None else inner.prefix + out

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

    def _stmt_Group(self, s: syntax.Group, env, scope, x):
        n = self._repeat(s.repeat, env, x)
        if n > 1:
            self._ensure(s.repeat, f"x {n:,}", n, s.body, env, steps=1 + len(s.body))
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

    def _ensure(self, where, what: str, count: int, body, env, steps: int = 0,
                extra_nodes: int = 0, edges: int = 0) -> None:
        """Refuse a repetition of `body` `count` times before it starts when its least work
        (`steps` per run, the ops `body` adds at least, plus `extra_nodes` and `edges`) is
        more than what is left of the budget. Reading the body for its least ops is skipped
        when even the largest bound it can give would fit."""
        budget = self.budget
        nodes = extra_nodes
        if count * _BOUND_QUOTA > min(budget.max_nodes - budget.nodes - extra_nodes,
                                      budget.max_edges - budget.edges - edges):
            nodes += count * least_ops(body, env)
        try:
            # Every op the body adds has an input at least; the merges' inputs are in `edges`.
            budget.ensure(what, nodes=nodes, edges=edges + nodes - extra_nodes,
                          steps=count * steps)
        except ArchError as e:
            raise e.with_span(where.span)

    # -- merges
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
        outs = []
        self.body(s.body, env.child(), scope, x, outs)
        if not outs:
            raise ArchError("parallel has no branches", s.span)
        return self.merge(op.name, outs, scope, s.span)

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
        values = self._iterate(s, env, x)
        n = len(values)
        if n > 1:
            # Layer i reads the concat of the i + 1 features before it: the connections
            # grow with the square of the layers, so they are counted before any is built.
            merges = (n - 1) * (n + 2) // 2 + n + 1
            self._ensure(s.iterable, f"a dense loop of {n:,} layers", n, s.body, env,
                         steps=1 + len(s.body), extra_nodes=n, edges=merges)
        for value in values:
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

    def _stmt_For(self, s: syntax.For, env, scope, x, branches=None):
        values = self._iterate(s, env, x)
        if len(values) > 1:
            self._ensure(s.iterable, f"a loop of {len(values):,} iterations", len(values),
                         s.body, env, steps=1 + len(s.body))
        for value in values:
            inner = env.child()
            bind_target(s.var, value, inner.vars, s.span)
            x = self.body(s.body, inner, scope, x, branches)
        return x

    def _stmt_If(self, s: syntax.If, env, scope, x, branches=None):
        cond = self.eval(s.cond, env, self._shape(x))
        if not isinstance(cond, bool):
            raise ArchError(f"if needs true or false, got {show(cond)}", s.cond.span)
        chosen = s.then if cond else s.other
        return self.body(chosen, env.child(), scope, x, branches) if chosen else x

    def _stmt_Aux(self, s: syntax.Aux, env, scope, x):
        name = self._label(s.label, env, x)
        inputs = self._inputs(s.refs, scope, x)
        if len(inputs) != 1:
            raise ArchError("aux takes one input", s.span)
        if isinstance(s.target, syntax.Apply) and s.target.label is None:
            # `aux NAME: CALL from REF` names the call NAME, as `NAME: CALL` would (so a
            # block's modules are NAME.conv, ..., not NAME.0.conv); it takes no position.
            view = Scope(scope.prefix, scope.path, scope.names, scope.position, aux=True)
            call = records.replace(s.target, label=s.label, refs=())
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

    # ================================================================== search spaces

    def space(self, target: DefValue, args: dict, answerer: Answerer, build: bool = True
              ) -> Point:
        """Elaborate one point of a space called with `args`: draw its params through
        `answerer`, derive, build and analyse its network (unless `build` is false) and
        check its requires. Raises ArchError only for mistakes in the space itself (a bad
        domain, a require that is not a condition); a point whose `let`s or network cannot
        be computed is returned with `error` set.

        A `require` that reads the network's totals (`flops`, `params`, `macs`, `memory`
        as values) is checked once the network is built; the others where they stand, and
        when one of them fails the network is not built at all."""
        env = self.bind(target, [], args, target.defn.span)
        check_space(target.defn)
        drawing = self._drawing = _Drawing(answerer, env)
        point = drawing.point
        try:
            self.body(target.defn.body, env, None, None)
        except _Infeasible as e:
            point.error = str(e)
        finally:
            self._drawing = None
        infeasible_early = point.error is not None or any(
            v > 0 for v in point.constraints.values())
        if build and not infeasible_early and point.value is not None:
            try:
                point.graph = self._sub().network(point.value, point.network_span)
                point.totals = analysis.totals(point.graph)
            except ArchError as e:
                point.error = e.format()
                point.graph = None
        for stmt, where in drawing.deferred:
            if point.totals is None:  # not evaluated: the point is infeasible for another reason
                point.constraints.setdefault(source_text(stmt.cond.span), 0.0)
                continue
            totals = where.child()
            totals.vars.update(point.totals)
            self._require(stmt, totals, point)
        if point.error is not None or (build and point.graph is None and not infeasible_early):
            point.constraints[VALID] = 1.0  # recorded only when broken: one write less
        return point

    def _drawn(self, s) -> _Drawing:
        if self._drawing is None:
            raise ArchError(f"`{_KEYWORD[type(s)]}` may only appear in a space", s.span)
        return self._drawing

    def _stmt_ParamStmt(self, s: syntax.ParamStmt, env, scope, x):
        drawing = self._drawn(s)
        domain = self.eval(s.domain, env, None)
        _check_domain(s.name, domain, s.domain.span)
        try:
            value = drawing.answerer.answer(s.name, domain)
        except ArchError as e:
            raise e.with_span(s.domain.span)
        # A param names a coordinate of the space: it is bound in the space's environment,
        # also when an `if` draws it.
        drawing.env.vars[s.name] = value
        drawing.point.params[s.name] = value
        return x

    def _stmt_Require(self, s: syntax.Require, env, scope, x):
        drawing = self._drawn(s)
        if _uses_totals(s.cond):
            drawing.deferred.append((s, env))
        else:
            self._require(s, env, drawing.point)
        return x

    def _require(self, s: syntax.Require, env, point: Point):
        """One constraint value for `require COND` (<= 0 when it holds): for a comparison of
        two numbers, its relative violation, so that a sampler learns where the boundary
        is; for anything else 0 or 1."""
        cond = s.cond
        try:
            if isinstance(cond, syntax.Compare) and len(cond.rest) == 1:
                a = self.eval(cond.first, env, None)
                op, rhs = cond.rest[0]
                b = self.eval(rhs, env, None)
                value = _violation(op, a, b, compare(op, a, b, cond.span))
            else:
                ok = self.eval(cond, env, None)
                if not isinstance(ok, bool):
                    raise ArchError(f"require needs true or false, got {show(ok)}", cond.span)
                value = 0.0 if ok else 1.0
        except ArchError as e:
            raise e.with_span(s.span)
        point.constraints[source_text(cond.span)] = value

    def _stmt_SpaceNetwork(self, s: syntax.SpaceNetwork, env, scope, x):
        point = self._drawn(s).point
        value = self.eval(s.call, env, None)
        if not isinstance(value, CALLABLE):
            raise ArchError(f"`network` needs a network call, got {show(value)}", s.span)
        point.value = value
        point.network_span = s.span
        return x

    # ================================================================== graph

    def _shape(self, key: Optional[str]):
        return None if key is None else self.graph.nodes[key]["shape"]

    def _add(self, key, op, args, shape, scope: Scope, span, inputs):
        if key in self.graph or key in self.graph.graph["scopes"]:
            raise ArchError(f"name '{key}' is already used in this network", span)
        try:
            self.budget.node(len(inputs), self.graph.number_of_nodes())
            analysis.check_counts(op, args, [self.graph.nodes[i]["shape"] for i in inputs],
                                  tuple(shape))
        except ArchError as e:
            raise e.with_span(span)
        ir.add_node(self.graph, key, op=op, args=args, shape=tuple(shape), scope=scope.path,
                    span=span, aux=scope.aux)
        self._added.append(key)
        for port, src in enumerate(inputs):
            self.graph.add_edge(src, key, port=port)


# One method per statement node, found by the node's class name (`_stmt_For` for syntax.For).
_STMT = {getattr(syntax, name[6:]): fn for name, fn in vars(Elaborator).items()
         if name.startswith("_stmt_")}
_KEYWORD = {syntax.ParamStmt: "param", syntax.Require: "require",
            syntax.SpaceNetwork: "network"}


# ====================================================================== least ops of a body

_BOUND_QUOTA = 200  # statements one bound reads: the bound it gives is then at most this many
_BOUND_DEPTH = 8  # nested block calls one bound follows


def least_ops(stmts, env: Env) -> int:
    """A lower bound of the ops that running `stmts` in `env` adds, read from their text
    (an op call adds one; a block call what its body adds at least; loops, `x N` and names
    bound inside the body count 0, since they may add none). A partial reading is still a
    lower bound, so at most _BOUND_QUOTA statements are read."""
    def resolve(name):
        try:
            return env.lookup(name)
        except KeyError:
            return None
    return _least(stmts, resolve, _bound_here(stmts), [_BOUND_QUOTA], 0)


def _least(stmts, resolve, shadowed, left, depth) -> int:
    total = 0
    for s in stmts:
        if left[0] <= 0:
            break
        left[0] -= 1
        kind = type(s)
        if kind is syntax.Aux:
            s, kind = s.target, type(s.target)
        if kind is syntax.Apply and s.repeat is None and s.callee not in shadowed:
            total += _least_call(resolve(s.callee), left, depth)
        elif kind is syntax.Group and s.repeat is None:
            total += _least(s.body, resolve, shadowed, left, depth)
        elif kind is syntax.Parallel:
            total += _least(s.body, resolve, shadowed, left, depth)
        elif kind is syntax.Residual:  # its add joins two outputs: one op at least
            total += 1 + _least(s.body, resolve, shadowed, left, depth) + _least(
                s.shortcut or (), resolve, shadowed, left, depth)
        elif kind is syntax.If:
            total += min(_least(s.then, resolve, shadowed, left, depth),
                         _least(s.other or (), resolve, shadowed, left, depth))
    return total


def _least_call(value, left, depth) -> int:
    if not isinstance(value, CALLABLE):
        return 0
    target = unwrap(value)[0]
    if isinstance(target, OpValue):
        return 1
    if (isinstance(target, DefValue) and isinstance(target.defn, syntax.BlockDef)
            and depth < _BOUND_DEPTH):
        defn = target.defn
        file_env = Env(target.scope)

        def resolve(name):
            try:
                return file_env.lookup(name)
            except KeyError:
                return None
        shadowed = _bound_here(defn.body) | {p.name for p in defn.params}
        return _least(defn.body, resolve, shadowed, left, depth + 1)
    return 0


def _bound_here(stmts) -> set:
    """Names a body binds itself (let, loop variables, at any depth): what they call is
    known only when it runs."""
    names, todo = set(), list(stmts)
    while todo:
        s = todo.pop()
        if isinstance(s, (syntax.Let, syntax.For, syntax.Dense)):
            for attr in ("name", "var", "names"):
                value = getattr(s, attr, None)
                names.update([value] if isinstance(value, str) else value or ())
        for attr in ("body", "then", "other", "shortcut"):
            todo.extend(getattr(s, attr, None) or ())
        if isinstance(s, syntax.Aux):
            todo.append(s.target)
    return names


# ====================================================================== domains and requires


def _check_domain(name: str, domain, span) -> None:
    """What `param NAME in DOMAIN` accepts: a non-empty list, range() with a positive step
    and at least one value, or log(lo, hi) with 0 < lo < hi."""
    if isinstance(domain, IntRange):
        if domain.step <= 0:
            raise ArchError(f"param {name}: range() needs a positive step", span)
        if not domain:
            raise ArchError(f"param {name}: range({domain.lo}, {domain.hi}) is empty", span)
    elif isinstance(domain, LogRange):
        bounds = domain.bounds
        if len(bounds) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, float))
                                   for a in bounds):
            raise ArchError(f"param {name}: log(lo, hi) takes two numbers", span)
        if not 0 < bounds[0] < bounds[1]:
            raise ArchError(f"param {name}: log(lo, hi) needs 0 < lo < hi", span)
    elif not isinstance(domain, list) or not domain:
        raise ArchError(f"param {name} needs a non-empty list, range(lo, hi[, step]) or "
                        f"log(lo, hi), got {show(domain)}", span)
    elif not all(isinstance(c, (bool, int, float, str)) or c is None for c in domain):
        written = [literal(c) for c in domain]  # how a trial records such choices
        if len(set(written)) != len(written):
            raise ArchError(f"param {name}: two choices are written alike", span)


def _walk(node):
    """Every syntax node inside an expression (a tree of records)."""
    yield node
    if records.is_record(node):
        for name in records.fields(node):
            yield from _walk_value(getattr(node, name))


def _walk_value(v):
    if isinstance(v, (tuple, list)):
        for x in v:
            yield from _walk_value(x)
    elif records.is_record(v):
        yield from _walk(v)


def _uses_totals(expr) -> bool:
    """Whether an expression reads `flops`/`params`/... as a value (not as a call)."""
    called = {id(n.func) for n in _walk(expr) if isinstance(n, syntax.Call)}
    return any(isinstance(n, syntax.Name) and n.id in TOTALS and id(n) not in called
               for n in _walk(expr))


def _violation(op, a, b, ok) -> float:
    """A constraint value for `a OP b`: <= 0 when it holds; the relative distance otherwise."""
    nums = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    if not nums or op == "!=":
        return 0.0 if ok else 1.0
    scale = max(abs(a), abs(b), 1e-12)
    if op in ("<", "<="):
        v = (a - b) / scale
    elif op in (">", ">="):
        v = (b - a) / scale
    else:  # ==
        v = abs(a - b) / scale
    return min(float(v), 0.0) if ok else max(float(v), 1e-9)


def check_space(defn: syntax.SpaceDef) -> None:
    """A space must have a `network CALL` statement (at any depth of `if`)."""
    if not _has_network(defn.body):
        raise ArchError(f"space {defn.name} has no `network CALL` statement", defn.span)


def _has_network(stmts) -> bool:
    for s in stmts:
        if isinstance(s, syntax.SpaceNetwork):
            return True
        if isinstance(s, syntax.If) and (_has_network(s.then) or _has_network(s.other or ())):
            return True
    return False
