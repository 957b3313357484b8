"""`archdsl eval EXPR [-D NAME=VALUE ...] [--file FILE]`: evaluate an expression of the language."""
from __future__ import annotations

from .. import syntax
from ..elaborate import Elaborator
from ..evaluate import Env
from ..loader import Loader, resolve_file_argument
from ..values import show
from .common import add_defines


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate an expression",
                       description="Evaluate an expression of the language, e.g. "
                       "'solve(9*G*c^2 + 8*G*C*c - 17*C^2 == 0, c)' -D G=4 -D C=64. An "
                       "expression that starts with '-' goes after '--', as for any command "
                       "(archdsl eval -D n=2 -- '-n'), so that it is not read as an option.")
    p.add_argument("expr", metavar="EXPR")
    add_defines(p, "bind NAME to VALUE (an expression)")
    p.add_argument("--file", metavar="FILE", help="evaluate in this file's scope")
    p.set_defaults(run=run)


def evaluate(expr: str, defines=(), file=None):
    loader = Loader()
    if file:
        scope = loader.load_path(resolve_file_argument(file))
    else:
        scope = loader.load_text("", "<eval>")
    env = Env(scope)
    elab = Elaborator()
    for name, value in defines:
        env.vars[name] = elab.eval(syntax.parse_expr(value, f"-D {name}"), env, None)
    return elab.eval(syntax.parse_expr(expr, "<expr>"), env, None)


def run(args) -> int:
    value = evaluate(args.expr, args.defines, args.file)
    print(show(value) if not isinstance(value, float) else repr(float(f"{value:.12g}")))
    return 0
