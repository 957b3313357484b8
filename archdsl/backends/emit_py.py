"""Standalone PyTorch source for a module built by the torch backend (`archdsl compile -o
net.py`): one readable `nn.Module` class with `__init__` and a straight-line `forward`,
needing only torch. Its `state_dict` keys are the IR's module paths, as the GraphModule's
are, so weights move between the two with `load_state_dict`.

It is written from the built module (its fx graph and its submodules), not from the IR,
so what it computes is what the GraphModule computes, fused or not. A submodule is written
as the constructor call that rebuilds it (checked by rebuilding it); a merge as the source
its registry entry gives; layer classes of torch_layers.py are copied in with the helper
functions they call.
"""
from __future__ import annotations

import ast
import inspect
import keyword
import re

import torch
import torch.fx as fx
import torch.nn as nn

from .. import ops
from ..errors import ArchError
from . import torch_layers
from .torch_backend import AUX, KEY, OP, TENSORS, ArchModule

_RESERVED_VARS = {"self", "torch", "nn", "F", "math"}
_PLAIN = (bool, int, float, str, type(None))


def _is_layer(cls) -> bool:
    return cls.__module__ == torch_layers.__name__


def layer_classes() -> dict:
    """The layer classes of torch_layers.py by name, in source order."""
    return {name: obj for name, obj in vars(torch_layers).items()
            if isinstance(obj, type) and issubclass(obj, nn.Module) and _is_layer(obj)}


def _state(m: nn.Module) -> dict:
    """A module's configuration: its plain attributes (not tensors, not submodules)."""
    return {k: v for k, v in vars(m).items()
            if not k.startswith("_") and k != "training" and not isinstance(v, torch.Tensor)}


def constructor(m: nn.Module) -> str:
    """Python source that rebuilds `m` (same class, same configuration): a layer of
    torch_layers.py from its `extra_repr` (its constructor arguments); a torch.nn layer from
    its repr or, where the repr leaves arguments out (AvgPool2d's ceil_mode, Hardswish's
    inplace), from its constructor's signature and attributes."""
    cls = type(m)
    if _is_layer(cls):
        candidates = [f"{cls.__name__}({m.extra_repr()})"]
    elif cls.__module__.startswith("torch.nn.") and not m._modules:
        candidates = ["nn." + repr(m), _from_signature(m)]
    else:
        raise ArchError(f"cannot write a {cls.__name__} module as Python source")
    for expr in candidates:
        try:  # the expression must rebuild exactly this configuration
            with torch.device("meta"):  # configuration only: allocate no weights
                rebuilt = _call(expr)
        except Exception as e:  # noqa: BLE001 - any failure means the source would be wrong
            problem = f"cannot write {cls.__name__} as Python source ({expr}: {e})"
            continue
        if type(rebuilt) is cls and _state(rebuilt) == _state(m):
            return expr
        problem = f"cannot write {cls.__name__} as Python source: {expr} does not rebuild it"
    raise ArchError(problem)


def _from_signature(m: nn.Module) -> str:
    """`nn.Class(name=value, ...)` for every constructor parameter `m` keeps as a plain
    attribute."""
    cls = type(m)
    parts = []
    for name, p in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        value = getattr(m, name, None) if p.kind is p.POSITIONAL_OR_KEYWORD else None
        if isinstance(value, _PLAIN) or isinstance(value, tuple) and all(
                isinstance(v, _PLAIN) for v in value):
            parts.append(f"{name}={value!r}")
    return f"nn.{cls.__name__}({', '.join(parts)})"


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
    ns.update(layer_classes())
    return ns


def _is_name(part: str) -> bool:
    return part.isidentifier() and not keyword.iskeyword(part)


def _attribute(path: str) -> str:
    """Access to a tensor held by a container: `self.features["1"]["0"].layer_scale`."""
    parent, _, name = path.rpartition(".")
    holder = _access(parent) if parent else "self"
    return f"{holder}.{name}" if _is_name(name) else f'getattr({holder}, "{name}")'


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
    """Source of the layer classes used, in torch_layers.py's order, each after the
    module-level functions of torch_layers.py its methods call (TableConv2d: same_padding)."""
    chunks, helpers = [], []
    for cls in layer_classes().values():
        if cls not in classes:
            continue
        for name in sorted(_called_names(cls)):
            fn = vars(torch_layers).get(name)
            if inspect.isfunction(fn) and _is_layer(fn) and fn not in helpers:
                helpers.append(fn)
        chunks.append(cls)
    return "\n\n".join(inspect.getsource(c).rstrip() + "\n" for c in helpers + chunks)


def _called_names(cls) -> set:
    names = set()
    for attr in vars(cls).values():
        code = getattr(attr, "__code__", None)
        if code is not None:
            names.update(code.co_names)
    return names


def to_source(model: ArchModule, class_name: str | None = None, network: str = "",
              source: str = "", input_shape=None) -> str:
    if not isinstance(model, ArchModule):
        raise TypeError("to_source() takes a module built by archdsl")
    class_name = class_name or type(model).__name__
    graphs = model.__dict__.get("_archdsl_graphs")
    nodes = list((graphs[0] if graphs else model.graph).nodes)  # the training graph, if two
    fused = bool(model.__dict__.get("_archdsl_fused"))
    has_aux = any(n.meta.get(AUX) for n in nodes) and not fused

    # __init__: every module of the tree, in the module's order, containers on the way; then
    # the bare tensors the containers hold (ConvNeXt's layer scales).
    init, made, used = [], set(), set()

    def containers(path):
        parts = path.split(".") if path else []
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix not in made:
                made.add(prefix)
                init.append(_assign(prefix, "nn.ModuleDict()"))

    tensors = []
    for path, m in model.named_modules():
        if not path or _is_container(m):
            tensors += [(path, name, p) for name, p in m._parameters.items()]
            continue
        containers(path.rpartition(".")[0])
        used.add(type(m))
        init.append(_assign(path, constructor(m)))
    inits = model.__dict__.get(TENSORS, {})
    for path, name, p in tensors:
        containers(path)
        key = f"{path}.{name}" if path else name
        if key not in inits:
            raise ArchError(f"cannot write the tensor {key} as Python source: its initial "
                            f"value is not recorded")
        holder = _access(path) if path else "self"
        init.append(f'{holder}.register_parameter("{name}", nn.Parameter(torch.full('
                    f'{tuple(p.shape)!r}, {inits[key]!r})))')

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


def _is_container(m: nn.Module) -> bool:
    """A module of the tree's paths (a plain nn.Module the backend made on the way), not a
    layer: written as an nn.ModuleDict."""
    return type(m) is nn.Module or bool(m._modules)


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
    compute = [n for n in nodes if n.op not in ("placeholder", "output", "get_attr")]
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
        elif n.op == "get_attr":  # a bare tensor: read in place, never a variable
            names[n] = _attribute(n.target)
    lines = []
    n_main = len([m for m in compute if not m.meta.get(AUX)])
    scope = None
    for i, n in enumerate(order):
        if has_aux and i == n_main:
            lines += ["if not self.training:", f"    return {_tuple(main_outs, names)}"]
        key = n.meta.get(KEY, n.name)
        top = key.split(".")[0] if "." in key else None
        if top is not None and top != scope:
            lines.append(f"# {top}")
        scope = top
        inputs = [a for a in dict.fromkeys(n.all_input_nodes) if a.op != "get_attr"]
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
        op = ops.lookup(n.meta.get(OP, ""))
        if op is not None and op.merge is not None and not n.kwargs:
            return op.merge.source([names[a] for a in n.args[0]])
        if op is not None and op.weight is not None and not n.kwargs:
            return op.weight.source(*(names[a] for a in n.args))
        module = getattr(n.target, "__module__", "") or ""
        name = getattr(n.target, "__name__", "")
        if module.startswith("torch") and getattr(torch, name, None) is n.target:
            return f"torch.{name}({', '.join(args)})"
    raise ArchError(f"cannot write the fx node {n.format_node()} as Python source")
