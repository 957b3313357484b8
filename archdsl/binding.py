"""Binding the arguments of a call to the parameters of what is called: one `bind()` for ops,
blocks, networks and spaces, so every call is bound by one rule (positional arguments first,
in parameter order, then keywords; defaults for the rest) and reports its mistakes in one set
of messages."""
from __future__ import annotations

from typing import Callable, Optional

from . import ops
from .errors import ArchError
from .suggest import did_you_mean
from .values import DefValue

MISSING = object()  # what `default` returns for a parameter without a default


def bind(callee: str, params, args, kwargs, span, default: Callable,
         check: Optional[Callable] = None, into: Optional[dict] = None) -> dict:
    """{parameter name: value} for a call of `callee` with `args` and `kwargs`.

    `params` are objects with a `.name`, in positional order. A parameter that is not given
    takes `default(param, bound)` (`bound`: the parameters before it, so defaults may use
    them), MISSING if it has none; a given value is `check(callee, param, value)`. `into` is
    the dict to fill (an environment's variables). Raises ArchError located at `span`."""
    if len(args) > len(params):
        raise ArchError(f"{callee} takes {len(params)} arguments, got {len(args)}", span)
    if kwargs:
        names = [p.name for p in params]
        for k in kwargs:
            if k not in names:
                raise ArchError(f"{callee} has no parameter '{k}'{did_you_mean(k, names)} "
                                f"(it takes {', '.join(names) or 'none'})", span)
    bound = {} if into is None else into
    positional = len(args)
    for i, p in enumerate(params):
        name = p.name
        if i < positional or name in kwargs:
            if i < positional:
                if name in kwargs:
                    raise ArchError(f"{callee}: argument '{name}' given twice", span)
                value = args[i]
            else:
                value = kwargs[name]
            if check is not None:
                try:
                    value = check(callee, p, value)
                except ArchError as e:
                    raise e.with_span(span)
        else:
            value = default(p, bound)
            if value is MISSING:
                raise ArchError(f"{callee} needs argument '{name}'", span)
        bound[name] = value
    return bound


def bind_op(op: ops.Op, args, kwargs, span) -> dict:
    """An op's arguments, checked against its schema (kinds and value constraints)."""
    return bind(op.name, op.params, args, kwargs, span, _op_default, ops.check)


def _op_default(p: ops.P, bound):
    return MISSING if p.default is ops.REQUIRED else p.default


def bind_definition(target: DefValue, args, kwargs, span, evaluator):
    """The environment (an evaluate.Env) of a block, network or space called with these
    arguments: its parameters bound in its file's scope; a default is an expression, evaluated
    there by `evaluator` (an evaluate.Evaluator) with the parameters before it bound. (This
    module does not import evaluate.py, which binds function calls with `bind`.)"""
    env = evaluator.file_env(target.scope)

    def default(p, bound):
        return MISSING if p.default is None else evaluator.eval(p.default, env, None)

    bind(target.defn.name, target.defn.params, args, kwargs, span, default, into=env.vars)
    return env
