"""Search spaces on the Optuna side: a `space` definition with its arguments bound (`Space`),
whose points are elaborated by the interpreter (`Elaborator.space`, elaborate.py) with an
Optuna trial answering the `param` draws (`OptunaAnswerer`); and loading the spaces of a file.

The trial may be a real `optuna.Trial`, a `FixedTrial`, or the scripted trials of
`enqueue.py`: anything with Optuna's `suggest_int`, `suggest_float` and
`suggest_categorical`. Nothing here imports torch or Optuna.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .. import syntax
from ..elaborate import Elaborator, Point, check_space
from ..errors import ArchError
from ..evaluate import Env
from ..loader import FileScope, Loader, resolve_file_argument
from ..values import DefValue, IntRange, LogRange, literal

__all__ = ["OptunaAnswerer", "Point", "Space", "choose_spaces", "load_spaces", "parse_defines",
           "spaces_in"]


class OptunaAnswerer:
    """Answers param draws with an Optuna trial: `range()` through `suggest_int`, `log()`
    through `suggest_float(log=True)`, a list through `suggest_categorical`. Optuna stores
    only numbers, strings, booleans and none as categories, so choices that are lists,
    blocks or calls are offered by their written form (values.literal) and mapped back."""

    def __init__(self, trial):
        self.trial = trial

    def answer(self, name: str, domain):
        if isinstance(domain, IntRange):
            last = domain.lo + ((domain.hi - 1 - domain.lo) // domain.step) * domain.step
            return self.trial.suggest_int(name, domain.lo, last, step=domain.step)
        if isinstance(domain, LogRange):
            lo, hi = domain.bounds
            return self.trial.suggest_float(name, float(lo), float(hi), log=True)
        if all(isinstance(c, (bool, int, float, str)) or c is None for c in domain):
            return self.trial.suggest_categorical(name, list(domain))
        written = [literal(c) for c in domain]
        return domain[written.index(self.trial.suggest_categorical(name, written))]


class Space:
    """A `space` definition with its arguments bound."""

    def __init__(self, defn: syntax.SpaceDef, scope: FileScope, args: Optional[dict] = None,
                 max_nodes: Optional[int] = None):
        self.defn = defn
        self.scope = scope
        self.max_nodes = max_nodes
        self.args_given = dict(args or {})
        env = Elaborator().bind(self.target, [], self.args_given, defn.span)
        self.args = {p.name: env.vars[p.name] for p in defn.params}
        check_space(defn)

    @property
    def name(self) -> str:
        return self.defn.name

    @property
    def path(self) -> str:
        return self.scope.path

    @property
    def target(self) -> DefValue:
        return DefValue(self.defn, self.scope)

    def sample(self, trial, build: bool = True) -> Point:
        """The point `trial` draws: elaborated, built (unless `build` is false) and checked.
        Raises ArchError only for mistakes in the space itself (a bad domain, a require that
        is not a condition); a network that cannot be built gives a point with `error` set."""
        return Elaborator(self.max_nodes).space(self.target, self.args, OptunaAnswerer(trial),
                                                build)


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
        spaces.append(Space(defn, scope, bound, max_nodes))
    for s in spaces:
        s.loader = loader
    return spaces
