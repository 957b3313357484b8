"""Search spaces: evaluating a `space` definition (LANGUAGE.md, "Search spaces") for one trial.

A trial draws every `param` through an Optuna-like trial object (`suggest_int`,
`suggest_float`, `suggest_categorical`: a real `optuna.Trial`, a `FixedTrial`, or the
scripted trials of `enqueue.py`), evaluates the `let`s with the elaborator, builds the
network, analyses it, and checks every `require`. Nothing here imports torch.

`require`s that name `flops`, `params`, `macs` or `memory` see the built network's totals
and are checked once it is built; the others are checked where they stand, and when one of
them fails the network is not built at all. Each `require` becomes one Optuna constraint
(<= 0 means satisfied): for a comparison of two numbers, its relative violation, so that the
sampler learns where the boundary is; for anything else 0 or 1.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .. import analysis, ops, syntax
from ..elaborate import Elaborator, Env, _compare
from ..errors import ArchError, _SOURCES
from ..loader import FileScope, Loader, resolve_file_argument
from ..values import CALLABLE, DefValue, OpValue, Partial, show

TOTALS = ("flops", "params", "macs", "memory")
VALID = "valid"  # the constraint set (to 1) when the network could not be built


@dataclass
class Point:
    """One evaluated point of a space: what a trial drew, derived and built."""
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


def source_text(span) -> str:
    """The source text a span covers (one line's worth when it spans several)."""
    text = _SOURCES.get(span.file)
    if text is None:
        try:
            text = Path(span.file).read_text(encoding="utf-8")
        except OSError:
            return f"line {span.line}"
    lines = text.splitlines()
    if not 1 <= span.line <= len(lines):
        return f"line {span.line}"
    if span.end_line is None:
        return lines[span.line - 1].strip()
    if span.end_line == span.line:
        return lines[span.line - 1][span.col - 1:span.end_col - 1]
    chunk = [lines[span.line - 1][span.col - 1:]] + lines[span.line:span.end_line - 1] + \
        [lines[span.end_line - 1][:span.end_col - 1]]
    return " ".join(s.strip() for s in chunk)


def _walk(node):
    """Every syntax node inside an expression (a dataclass tree)."""
    yield node
    if dataclasses.is_dataclass(node):
        for f in dataclasses.fields(node):
            yield from _walk_value(getattr(node, f.name))


def _walk_value(v):
    if isinstance(v, (tuple, list)):
        for x in v:
            yield from _walk_value(x)
    elif dataclasses.is_dataclass(v) and not isinstance(v, type):
        yield from _walk(v)


def _uses_totals(expr) -> bool:
    """Whether an expression reads `flops`/`params`/... as a value (not as a call)."""
    called = {id(n.func) for n in _walk(expr) if isinstance(n, syntax.Call)}
    return any(isinstance(n, syntax.Name) and n.id in TOTALS and id(n) not in called
               for n in _walk(expr))


def is_data(v) -> bool:
    if isinstance(v, (bool, int, float, str)) or v is None:
        return True
    return isinstance(v, list) and all(is_data(x) for x in v)


def literal(v) -> str:
    """A value written as an expression of the language (for best.arch and messages)."""
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


class Space:
    """A `space` definition with its arguments bound."""

    def __init__(self, defn: syntax.SpaceDef, scope: FileScope, args: Optional[dict] = None,
                 max_nodes: Optional[int] = None):
        self.defn = defn
        self.scope = scope
        self.max_nodes = max_nodes
        self.args_given = dict(args or {})
        self.env = Elaborator()._bind(DefValue(defn, scope), [], self.args_given, defn.span)
        self.args = {p.name: self.env.vars[p.name] for p in defn.params}
        if not any(isinstance(s, syntax.SpaceNetwork) for s in defn.body):
            raise ArchError(f"space {defn.name} has no `network CALL` statement", defn.span)

    @property
    def name(self) -> str:
        return self.defn.name

    @property
    def path(self) -> str:
        return self.scope.path

    def param_names(self) -> list:
        return [s.name for s in self.defn.body if isinstance(s, syntax.ParamStmt)]

    # ------------------------------------------------------------------ one trial

    def sample(self, trial, build: bool = True) -> Point:
        """Draw the params through `trial`, derive, build and check. Raises ArchError only
        for mistakes in the space itself (a bad domain, a `let` that fails); a network that
        cannot be built gives a point with `error` set."""
        elab = Elaborator(self.max_nodes)
        env = self.env.child()
        point = Point()
        deferred = []
        for stmt in self.defn.body:
            if isinstance(stmt, syntax.ParamStmt):
                value = self._draw(stmt, env, trial, elab)
                env.vars[stmt.name] = value
                point.params[stmt.name] = value
            elif isinstance(stmt, syntax.Let):
                try:
                    value = elab.eval(stmt.value, env, None)
                except ArchError as e:
                    point.error = e.with_span(stmt.span).format()
                    break
                env.vars[stmt.name] = value
                if is_data(value):
                    point.derived[stmt.name] = value
            elif isinstance(stmt, syntax.Require):
                if _uses_totals(stmt.cond):
                    deferred.append(stmt)
                else:
                    self._require(stmt, env, elab, point)
            elif isinstance(stmt, syntax.SpaceNetwork):
                value = elab.eval(stmt.call, env, None)
                if not isinstance(value, CALLABLE):
                    raise ArchError(f"`network` needs a network call, got {show(value)}",
                                    stmt.span)
                point.value = value
                point.network_span = stmt.span
        infeasible_early = point.error is not None or any(
            v > 0 for v in point.constraints.values())
        if build and not infeasible_early and point.value is not None:
            try:
                point.graph = Elaborator(self.max_nodes).network(point.value, point.network_span)
                point.totals = analysis.totals(point.graph)
            except ArchError as e:
                point.error = e.format()
                point.graph = None
        if point.totals is not None:
            tenv = env.child()
            tenv.vars.update(point.totals)
            for stmt in deferred:
                self._require(stmt, tenv, elab, point)
        else:
            for stmt in deferred:  # not evaluated: the trial is infeasible for another reason
                point.constraints.setdefault(source_text(stmt.cond.span), 0.0)
        if point.error is not None or (build and point.graph is None and not infeasible_early):
            point.constraints[VALID] = 1.0  # recorded only when broken: one write less
        return point

    def _draw(self, stmt: syntax.ParamStmt, env: Env, trial, elab: Elaborator):
        dom = stmt.domain
        while isinstance(dom, syntax.Ternary):
            cond = elab.eval(dom.cond, env, None)
            if not isinstance(cond, bool):
                raise ArchError(f"expected true or false, got {show(cond)}", dom.cond.span)
            dom = dom.then if cond else dom.other
        name = stmt.name
        if isinstance(dom, syntax.Call) and isinstance(dom.func, syntax.Name) \
                and dom.func.id in ("range", "log") and not env.is_bound(dom.func.id):
            args, kwargs = elab._eval_args(dom.args, env, None)
            if kwargs:
                raise ArchError(f"{dom.func.id}() takes no keyword arguments", dom.span)
            if dom.func.id == "range":
                return self._draw_range(name, args, trial, dom.span)
            return self._draw_log(name, args, trial, dom.span)
        choices = elab.eval(dom, env, None)
        if not isinstance(choices, list) or not choices:
            raise ArchError(f"param {name} needs a non-empty list, range(lo, hi[, step]) or "
                            f"log(lo, hi), got {show(choices)}", dom.span)
        if all(isinstance(c, (bool, int, float, str)) or c is None for c in choices):
            return trial.suggest_categorical(name, choices)
        # Lists, blocks, calls: Optuna stores the choice by its written form.
        written = [literal(c) for c in choices]
        if len(set(written)) != len(written):
            raise ArchError(f"param {name}: two choices are written alike", dom.span)
        picked = trial.suggest_categorical(name, written)
        return choices[written.index(picked)]

    @staticmethod
    def _draw_range(name, args, trial, span):
        if not 1 <= len(args) <= 3 or any(not isinstance(a, int) or isinstance(a, bool)
                                          for a in args):
            raise ArchError(f"param {name}: range() takes 1 to 3 integers", span)
        lo, hi, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1],
                                                               args[2] if len(args) == 3 else 1)
        if step <= 0:
            raise ArchError(f"param {name}: range() needs a positive step", span)
        if hi <= lo:
            raise ArchError(f"param {name}: range({lo}, {hi}) is empty", span)
        last = lo + ((hi - 1 - lo) // step) * step
        return trial.suggest_int(name, lo, last, step=step)

    @staticmethod
    def _draw_log(name, args, trial, span):
        if len(args) != 2 or any(isinstance(a, bool) or not isinstance(a, (int, float))
                                 for a in args):
            raise ArchError(f"param {name}: log(lo, hi) takes two numbers", span)
        lo, hi = args
        if not 0 < lo < hi:
            raise ArchError(f"param {name}: log(lo, hi) needs 0 < lo < hi", span)
        return trial.suggest_float(name, float(lo), float(hi), log=True)

    def _require(self, stmt: syntax.Require, env: Env, elab: Elaborator, point: Point):
        key = source_text(stmt.cond.span)
        cond = stmt.cond
        try:
            if isinstance(cond, syntax.Compare) and len(cond.rest) == 1:
                a = elab.eval(cond.first, env, None)
                op, rhs = cond.rest[0]
                b = elab.eval(rhs, env, None)
                ok = _compare(op, a, b, cond.span)
                value = _violation(op, a, b, ok)
            else:
                ok = elab.eval(cond, env, None)
                if not isinstance(ok, bool):
                    raise ArchError(f"require needs true or false, got {show(ok)}",
                                    cond.span)
                value = 0.0 if ok else 1.0
        except ArchError as e:
            raise e.with_span(stmt.span)
        point.constraints[key] = value


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


# ---------------------------------------------------------------------- loading


def spaces_in(scope: FileScope) -> list:
    return [d for d in scope.order if d.kind == "space"]


def choose_spaces(scope: FileScope, names: Optional[list]) -> list:
    """--space a,b (or all): the named spaces; else the one named like the file, else the
    only one, else an error that lists them."""
    own = spaces_in(scope)
    listing = ", ".join(d.name for d in own) or "none"
    if names:
        if names == ["all"]:
            if not own:
                raise ArchError(f"{scope.path} defines no space")
            return own
        out = []
        for n in names:
            entry = scope.lookup(n)
            if entry is None or entry[0].kind != "space":
                raise ArchError(f"no space named {n!r} (spaces here: {listing})")
            out.append(entry[0])
        return out
    stem = Path(scope.path).stem
    named = [d for d in own if d.name == stem]
    if named:
        return named
    if len(own) == 1:
        return own
    if not own:
        raise ArchError(f"{scope.path} defines no space")
    raise ArchError(f"{scope.path} defines several spaces ({listing}); choose with "
                    f"--space NAME (or --space a,b to compare them)")


def parse_defines(scope: FileScope, defines) -> dict:
    """-D NAME=EXPR pairs, evaluated in the file's scope."""
    env = Env(scope)
    elab = Elaborator()
    out = {}
    for name, text in defines:
        out[name] = elab.eval(syntax.parse_expr(text, f"-D {name}"), env, None)
    return out


def load_spaces(path: str, names: Optional[list] = None, defines=(), args: Optional[dict] = None,
                max_nodes: Optional[int] = None) -> list:
    """The spaces of a file with their arguments bound (-D NAME=VALUE pairs and/or a dict)."""
    loader = Loader()
    scope = loader.load_path(resolve_file_argument(path))
    bound = parse_defines(scope, defines)
    bound.update(args or {})
    spaces = []
    for defn in choose_spaces(scope, names):
        known = {p.name for p in defn.params}
        unknown = set(bound) - known
        if unknown:
            raise ArchError(f"space {defn.name} has no parameter "
                            f"{', '.join(repr(u) for u in sorted(unknown))} (it takes "
                            f"{', '.join(p.name for p in defn.params) or 'none'})", defn.span)
        spaces.append(Space(defn, scope, bound, max_nodes))
    for s in spaces:
        s.loader = loader
    return spaces
