"""Standalone PyTorch source for a module built by the torch backend (`archdsl compile -o
net.py`): one readable `nn.Module` class with `__init__` and a straight-line `forward`,
needing only torch. Its `state_dict` keys are the IR's module paths, as the GraphModule's
are, so weights move between the two with `load_state_dict`.

It is written from the built module (its fx graph and its submodules), not from the IR,
so what it computes is what the GraphModule computes, fused or not.
"""
from __future__ import annotations

import ast
import inspect
import keyword
import re

import torch
import torch.fx as fx
import torch.nn as nn

from ..errors import ArchError
from . import torch_layers
from .torch_backend import AUX, ArchModule

_RESERVED_VARS = {"self", "torch", "nn", "F", "math"}
_MERGE_SOURCE = {
    torch_layers.merge_concat: lambda a: f"torch.cat([{', '.join(a)}], 1)",
    torch_layers.merge_add: lambda a: " + ".join(a),
    torch_layers.merge_mul: lambda a: " * ".join(a),
    torch_layers.merge_mean: lambda a: f"({' + '.join(a)}) / {len(a)}",
}


def _state(m: nn.Module) -> dict:
    """A module's configuration: its plain attributes (not tensors, not submodules)."""
    return {k: v for k, v in vars(m).items()
            if not k.startswith("_") and k != "training" and not isinstance(v, torch.Tensor)}


def constructor(m: nn.Module) -> str:
    """Python source that rebuilds `m` (same class, same configuration)."""
    cls = type(m)
    if cls in torch_layers.CLASSES:
        expr = f"{cls.__name__}({m.extra_repr()})"
    elif cls is nn.AvgPool2d:  # its repr leaves out ceil_mode and count_include_pad
        expr = (f"nn.AvgPool2d(kernel_size={m.kernel_size!r}, stride={m.stride!r}, "
                f"padding={m.padding!r}, ceil_mode={m.ceil_mode!r}, "
                f"count_include_pad={m.count_include_pad!r}, "
                f"divisor_override={m.divisor_override!r})")
    elif cls.__module__.startswith("torch.nn.") and not m._modules:
        expr = "nn." + repr(m)
    else:
        raise ArchError(f"cannot write a {cls.__name__} module as Python source")
    try:  # the expression must rebuild exactly this configuration
        with torch.device("meta"):  # configuration only: allocate no weights
            rebuilt = _call(expr)
    except Exception as e:  # noqa: BLE001 - any failure means the source would be wrong
        raise ArchError(f"cannot write {cls.__name__} as Python source ({expr}: {e})")
    if type(rebuilt) is not cls or _state(rebuilt) != _state(m):
        raise ArchError(f"cannot write {cls.__name__} as Python source: {expr} does not "
                        f"rebuild it")
    return expr


def _call(expr: str):
    """Evaluate `Class(literal, ..., name=literal)`: a constructor with literal arguments
    only (no Python eval: the values may come from a user's file)."""
    node = ast.parse(expr, mode="eval").body
    if not isinstance(node, ast.Call):
        raise ValueError("not a call")
    target = ast.unparse(node.func)
    namespace = _namespace()
    head, _, attr = target.partition(".")
    if head not in namespace or (attr and not attr.isidentifier()):
        raise ValueError(f"unknown constructor {target}")
    fn = getattr(namespace[head], attr) if attr else namespace[head]
    args = [ast.literal_eval(a) for a in node.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    return fn(*args, **kwargs)


def _namespace() -> dict:
    import math
    import torch.nn.functional as F
    ns = {"torch": torch, "nn": nn, "F": F, "math": math}
    ns.update({c.__name__: c for c in torch_layers.CLASSES})
    return ns


def _is_name(part: str) -> bool:
    return part.isidentifier() and not keyword.iskeyword(part)


def _access(path: str) -> str:
    """Attribute access for a module path: the root is this class, containers ModuleDicts."""
    first, *rest = path.split(".")
    expr = f"self.{first}" if _is_name(first) else f'getattr(self, "{first}")'
    for part in rest:
        if _is_name(part) and not hasattr(nn.ModuleDict, part):
            expr += f".{part}"
        else:
            expr += f'["{part}"]'
    return expr


def _class_source(classes) -> str:
    chunks = []
    if torch_layers.TableConv2d in classes:
        chunks.append(inspect.getsource(torch_layers.same_padding))
    for cls in torch_layers.CLASSES:
        if cls in classes:
            chunks.append(inspect.getsource(cls))
    return "\n\n".join(c.rstrip() + "\n" for c in chunks)


def to_source(model: ArchModule, class_name: str | None = None, network: str = "",
              source: str = "", input_shape=None) -> str:
    if not isinstance(model, ArchModule):
        raise TypeError("to_source() takes a module built by archdsl")
    class_name = class_name or type(model).__name__
    graphs = model.__dict__.get("_archdsl_graphs")
    nodes = list((graphs[0] if graphs else model.graph).nodes)  # the training graph, if two
    fused = bool(model.__dict__.get("_archdsl_fused"))
    has_aux = any(n.meta.get(AUX) for n in nodes) and not fused

    # __init__: every module of the tree, in the module's order, containers on the way.
    init, made, used = [], set(), set()
    for path, m in model.named_modules():
        if not path or m._modules:
            continue
        parts = path.split(".")
        for i in range(1, len(parts)):
            prefix = ".".join(parts[:i])
            if prefix not in made:
                made.add(prefix)
                init.append(_assign(prefix, "nn.ModuleDict()"))
        used.add(type(m))
        init.append(_assign(path, constructor(m)))

    body = _forward_body(model, nodes, has_aux)
    doc = (f'"""{class_name}: the network {network!r}'
           + (f" of {source}" if source else "")
           + ", written by archdsl (`archdsl compile -o`).\n\n"
           "Needs only torch. Its state_dict keys are archdsl's module paths, so the same "
           "weights load\ninto this class and into `archdsl.load(...).to_torch()`."
           + ("\nIn training mode forward returns (main, *aux); in eval mode the main output."
              if has_aux else "")
           + ("\nBatch norm is folded into the convs: eval only." if fused else "")
           + '\n"""')
    helpers = _class_source(used)
    lines = [doc] + (["import math"] if "math." in helpers else []) + (
        ["from typing import List, Tuple"] if helpers else []) + (
        [""] if helpers else []) + [
        "import torch", "import torch.nn as nn", "import torch.nn.functional as F", ""]
    if input_shape is not None:
        lines += [f"INPUT_SHAPE = {tuple(input_shape)!r}  # [C, H, W], without batch", ""]
    if helpers:
        lines += ["", helpers]
    lines += ["", f"class {class_name}(nn.Module):", "    def __init__(self):",
              "        super().__init__()"]
    lines += ["        " + s for s in init]
    args = ", ".join(n.name for n in nodes if n.op == "placeholder")
    lines += ["", f"    def forward(self, {args}):"]
    lines += ["        " + s for s in body]
    lines += ["", "", "if __name__ == \"__main__\":",
              f"    model = {class_name}().eval()"]
    if input_shape is not None:
        lines += ["    with torch.no_grad():",
                  "        print(model(torch.randn(1, *INPUT_SHAPE)).shape)"]
    else:
        lines += ["    print(model)"]
    return "\n".join(lines) + "\n"


def _assign(path: str, expr: str) -> str:
    parent, _, name = path.rpartition(".")
    if not parent:
        return f"self.{name} = {expr}" if _is_name(name) else f'self.add_module("{name}", {expr})'
    return f'{_access(parent)}["{name}"] = {expr}'


def _forward_body(model, nodes, has_aux) -> list:
    output = next(n for n in nodes if n.op == "output")
    value = output.args[0]
    outs = list(value) if isinstance(value, (tuple, list)) else [value]
    aux_outs = outs[1:] if len(outs) > 1 and any(n.meta.get(AUX) for n in nodes) else []
    main_outs = outs[: len(outs) - len(aux_outs)]
    compute = [n for n in nodes if n.op not in ("placeholder", "output")]
    order = [n for n in compute if not n.meta.get(AUX)]
    if has_aux:
        order += [n for n in compute if n.meta.get(AUX)]
    pinned = set(main_outs) | (set(aux_outs) if has_aux else set())
    last = {}
    for i, n in enumerate(order):
        for a in n.all_input_nodes:
            last[a] = i

    names, live = {}, set()

    def fresh(node, busy):
        # the trunk is `x`; a value that must wait (a branch, a shortcut) is named after the
        # node that starts it
        if "x" not in busy:
            return "x"
        base = re.sub(r"\W", "_", node.name)
        if not _is_name(base) or base in _RESERVED_VARS:
            base = "v_" + base
        name, k = base, 1
        while name in busy:
            k += 1
            name = f"{base}_{k}"
        return name

    for n in nodes:
        if n.op == "placeholder":
            names[n] = n.name
            live.add(n.name)
    lines = []
    n_main = len([m for m in compute if not m.meta.get(AUX)])
    scope = None
    for i, n in enumerate(order):
        if has_aux and i == n_main:
            lines += ["if not self.training:", f"    return {_tuple(main_outs, names)}"]
        key = n.meta.get("archdsl_key", n.name)
        top = key.split(".")[0] if "." in key else None
        if top is not None and top != scope:
            lines.append(f"# {top}")
        scope = top
        inputs = list(dict.fromkeys(n.all_input_nodes))
        dying = [a for a in inputs if last.get(a) == i and a not in pinned]
        busy = live - {names[a] for a in dying}
        # A value used once flows on under its name (a chain); a merge gets a name of its own.
        if len(inputs) == 1 and dying:
            name = names[inputs[0]]
        else:
            name = fresh(n, busy)
        lines.append(f"{name} = {_expression(model, n, names)}")
        dead = [names[a] for a in dying if names[a] != name]
        if dead:
            lines.append("del " + ", ".join(dead))
        names[n] = name
        live = busy | {name}
    if has_aux:
        lines.append(f"return {_tuple(main_outs, names)}, "
                     + ", ".join(names[a] for a in aux_outs))
    else:
        lines.append(f"return {_tuple(main_outs, names)}")
    return lines


def _tuple(nodes, names) -> str:
    if len(nodes) == 1:
        return names[nodes[0]]
    return "(" + ", ".join(names[n] for n in nodes) + ")"


def _expression(model, n: fx.Node, names) -> str:
    def arg(a):
        if isinstance(a, (list, tuple)):
            return "[" + ", ".join(arg(b) for b in a) + "]"
        return names[a] if isinstance(a, fx.Node) else repr(a)
    args = [arg(a) for a in n.args]
    if n.kwargs:
        args += [f"{k}={arg(v)}" for k, v in n.kwargs.items()]
    if n.op == "call_module":
        return f"{_access(n.target)}({', '.join(args)})"
    if n.op == "call_method":
        return f"{args[0]}.{n.target}({', '.join(args[1:])})"
    if n.op == "call_function":
        if n.target in _MERGE_SOURCE and not n.kwargs:
            return _MERGE_SOURCE[n.target]([names[a] for a in n.args[0]])
        module = getattr(n.target, "__module__", "") or ""
        name = getattr(n.target, "__name__", "")
        if module.startswith("torch") and getattr(torch, name, None) is n.target:
            return f"torch.{name}({', '.join(args)})"
    raise ArchError(f"cannot write the fx node {n.format_node()} as Python source")
