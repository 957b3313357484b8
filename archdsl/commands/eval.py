"""`archdsl eval EXPR [-D NAME=VALUE ...] [--file FILE]`: evaluate an expression of the language."""
from __future__ import annotations

from .. import syntax
from ..elaborate import Elaborator
from ..errors import ArchError
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


def evaluate(expr: str, defines=(), file=None, shown: bool = False):
    """The value of `expr` (as the language prints it, if `shown`)."""
    loader = Loader()
    if file:
        scope = loader.load_path(resolve_file_argument(file))
    else:
        scope = loader.load_text("", "<eval>")
    env = Env(scope)
    elab = Elaborator()  # one work budget for the definitions, the expression and its print
    for name, value in defines:
        env.vars[name] = elab.eval(syntax.parse_expr(value, f"-D {name}"), env, None)
    node = syntax.parse_expr(expr, "<expr>")
    value = elab.eval(node, env, None)
    if shown:
        if isinstance(value, float):
            return repr(float(f"{value:.12g}"))
        try:
            return show(value, elab.budget.step)
        except ArchError as e:
            raise e.with_span(node.span)
    return value


def run(args) -> int:
    print(evaluate(args.expr, args.defines, args.file, shown=True))
    return 0
