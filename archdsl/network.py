"""The Python API: load a file (or text), choose a network, elaborate it, and hand out its
IR, its cost summary and, on request, its PyTorch module."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import analysis
from .elaborate import Elaborator
from .errors import ArchError
from .loader import FileScope, Loader, resolve_file_argument
from .values import DefValue


class Network:
    def __init__(self, graph, source: Optional[str] = None):
        self.graph = graph
        self.source = source

    @property
    def name(self) -> str:
        return self.graph.graph["name"]

    def summary(self) -> dict:
        return analysis.summary(self.graph)

    def totals(self) -> dict:
        return analysis.totals(self.graph)

    def to_torch(self, device=None, dtype=None, memory_format=None, seed=None, fuse=False,
                 **limits):
        from .backends.torch_backend import to_torch
        return to_torch(self.graph, device=device, dtype=dtype, memory_format=memory_format,
                        seed=seed, fuse=fuse, **limits)


def networks_in(scope: FileScope) -> list:
    return [d for d in scope.order if d.kind == "network"]


def choose_network(scope: FileScope, network: Optional[str]):
    own = networks_in(scope)
    if network is not None:
        entry = scope.lookup(network)
        if entry is None or entry[0].kind != "network":
            names = ", ".join(d.name for d in own) or "none"
            raise ArchError(f"no network named {network!r} (networks here: {names})")
        return entry
    stem = Path(scope.path).stem
    named = [d for d in own if d.name == stem]
    if named:
        return named[0], scope
    if len(own) == 1:
        return own[0], scope
    if not own:
        raise ArchError(f"{scope.path} defines no network")
    raise ArchError(f"{scope.path} defines several networks ({', '.join(d.name for d in own)}); "
                    f"choose one with --network")


def load(path: Optional[str] = None, *, text: Optional[str] = None, network: Optional[str] = None,
         max_nodes: Optional[int] = None, input_shape=None, **args) -> Network:
    """Elaborate a network from a file (or `zoo:NAME`) or from text; keyword arguments bind the
    network's parameters (`load("zoo/resnet50.arch", classes=10)`); `input_shape` replaces
    the shape of the network's `input` statement."""
    loader = Loader()
    if text is not None:
        scope = loader.load_text(text, path or "<string>")
    else:
        if path is None:
            raise ArchError("load() needs a path or text=")
        scope = loader.load_path(resolve_file_argument(str(path)))
    defn, where = choose_network(scope, network)
    value = DefValue(defn, where)
    if args:
        from .values import Partial
        value = Partial(value, (), tuple(args.items()))
    elab = Elaborator(max_nodes)
    if input_shape is not None:
        elab.input_override = tuple(input_shape)
    graph = elab.network(value, defn.span)
    return Network(graph, scope.path)
