"""The IR: a networkx DiGraph of primitive ops (docs/design.md, "The IR").

Node keys are dotted module paths (`layer2.0.conv2`), which are also the PyTorch
`state_dict` prefixes. Node attributes: `op`, `args` (resolved), `shape` (output, no batch),
`scope` (enclosing scope paths), `span`, `aux`. Edges carry `port` (input order). Graph
attributes: `name`, `inputs`, `outputs`, `aux_outputs`, `input_shape`, `scopes` (path ->
kind, span, aux) and `labels` (named statement path -> its output node).
"""
from __future__ import annotations

import importlib.util
import sys


def _networkx():
    """networkx with its graph classes loaded and the rest of the package (algorithms,
    generators, readwrite, linalg, drawing: two thirds of `import networkx`, which was the
    largest part of the start-up of `archdsl summary`, bench/bench_startup.py) loaded when
    first asked for: the module's `__getattr__` runs the package's own `__init__` then, so
    `nx.anything` and a later `import networkx` anywhere see the whole package. Any surprise
    from a networkx laid out otherwise means the plain import."""
    if "networkx" in sys.modules:
        return sys.modules["networkx"]
    try:
        spec = importlib.util.find_spec("networkx")
        nx = importlib.util.module_from_spec(spec)
        sys.modules["networkx"] = nx
        # What networkx/__init__.py sets before it imports its classes, in its order.
        exception = importlib.import_module("networkx.exception")
        for name in exception.__all__:
            setattr(nx, name, getattr(exception, name))
        utils = nx.utils = importlib.import_module("networkx.utils")
        nx._clear_cache, nx._dispatchable = utils._clear_cache, utils._dispatchable
        nx.config = utils.config = utils.configs.config = \
            utils.backends._set_configs_from_environment()
        nx.convert = importlib.import_module("networkx.convert")
        nx.classes = importlib.import_module("networkx.classes")
        nx.DiGraph = nx.classes.DiGraph

        def __getattr__(name):  # the first name the classes alone lack: the whole package
            if nx.__dict__.pop("__getattr__", None) is not None:
                spec.loader.exec_module(nx)
            if name in nx.__dict__:
                return nx.__dict__[name]
            raise AttributeError(f"module 'networkx' has no attribute {name!r}")

        nx.__getattr__ = __getattr__  # last: importing the classes asks for names too
        return nx
    except Exception:  # noqa: BLE001 another layout of the package: import it all
        for name in [m for m in sys.modules if m == "networkx" or m.startswith("networkx.")]:
            del sys.modules[name]
        import networkx
        return networkx


nx = _networkx()

INPUT = "input"  # the key of the network's input node ("input" is a reserved word)


def new_graph(name: str) -> nx.DiGraph:
    g = nx.DiGraph(name=name)
    g.graph.update(inputs=[], outputs=[], aux_outputs=[], input_shape=None, scopes={},
                   labels={})
    return g


def add_node(g: nx.DiGraph, key: str, **attrs) -> None:
    g.add_node(key, **attrs)


def predecessors(g: nx.DiGraph, key: str) -> list:
    """Inputs of a node in port order."""
    preds = g.pred[key]  # (not in_edges: its view objects cost more than the sort, per call)
    if len(preds) < 2:
        return list(preds)
    return [u for _, u in sorted((d["port"], u) for u, d in preds.items())]


def execution_order(g: nx.DiGraph) -> list:
    """Nodes in creation order, which elaboration guarantees is a topological order."""
    return list(g.nodes)
