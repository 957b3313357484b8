"""`archdsl eval EXPR [-D NAME=VALUE ...] [--file FILE]`: evaluate an expression of the language."""
from __future__ import annotations

from .. import syntax
from ..elaborate import Elaborator, Env
from ..loader import Loader, resolve_file_argument
from ..ops import show


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
