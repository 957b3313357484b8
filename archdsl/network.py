"""The Python API: load a file (or text), choose a network, elaborate it, and hand out its
IR, its cost summary and, on request, its PyTorch module."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import analysis
from .elaborate import Elaborator
from .errors import ArchError
from .loader import FileScope, Loader, resolve_file_argument
from .units import count_text
from .values import DefValue


class Network:
    def __init__(self, graph, source: Optional[str] = None):
        self.graph = graph
        self.source = source

    @property
    def name(self) -> str:
        return self.graph.graph["name"]

    def summary(self, batch: int = 1, dtype: str = "float32", depth: int | None = None) -> dict:
        """The cost summary, as `archdsl summary --json [--batch B] [--dtype D] [--depth D]`
        prints it (fields: docs/design.md): per-layer rows (grouped by their first `depth`
        path components if given), totals, and a training step's sizes."""
        if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
            raise ArchError(f"summary(batch=...) must be a positive integer, got {batch!r}")
        if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int)):
            raise ArchError(f"summary(depth=...) must be an integer or None, got {depth!r}")
        s = analysis.batch_summary(self.graph, batch, dtype)
        if depth is not None:
            s["layers"] = analysis.aggregate(s["layers"], depth, self.graph.graph["scopes"])
        return s

    def render(self, output=None, depth="auto", scope: str | None = None,
               rankdir: str = "TB", annotate=("shapes",), force: bool = False):
        """The diagram, as `archdsl render` draws it with the same options. Without `output`
        the SVG text (as a `Diagram`, which a notebook shows as the picture); `"-"` the DOT
        source; a path writes the file by its suffix (.svg .png .pdf .html .dot .graphml
        .json; never over an existing one without force=True) and returns what the command
        reports: {"path", "format", "nodes", "edges", "depth", "max_depth", ...}."""
        from .render import dot, export, view
        if isinstance(annotate, str):  # as --annotate takes it: "shapes,flops" or "none"
            annotate = tuple(a.strip() for a in annotate.split(",")
                             if a.strip() not in ("", "none"))
        if output is None:
            return Diagram(export.to_svg(self.graph, depth, scope, rankdir, tuple(annotate)))
        fmt = "dot" if output == "-" else export.output_format(str(output))
        resolved = (None if depth == "auto" and fmt in ("graphml", "json")
                    else view.resolve_depth(self.graph, depth, scope))
        if output == "-":
            return dot.to_dot(self.graph, resolved, scope, rankdir, tuple(annotate))
        return export.write(self.graph, str(output), depth=resolved, root=scope,
                            rankdir=rankdir, annotate=tuple(annotate), force=force)

    def __repr__(self) -> str:
        tot = self.totals()
        shape = "x".join(map(str, self.graph.graph["input_shape"]))
        return (f"<Network {self.name}: input {shape}, {tot['params']:,} params "
                f"({count_text(tot['params'])}), {count_text(tot['flops'])} FLOPs "
                f"(multiply-adds per sample)>")

    def _repr_svg_(self):
        """A notebook's picture of the network: the diagram at the auto depth (None, so the
        notebook falls back to the table, when graphviz's dot is not installed)."""
        from .render import dot
        if dot.find_dot() is None:
            return None
        return str(self.render())

    def _repr_html_(self) -> str:
        """A notebook's table: the summary for one float32 sample."""
        from . import tables
        s = self.summary()
        return tables.to_html(s, s["layers"])

    def totals(self) -> dict:
        return analysis.totals(self.graph)

    def to_torch(self, device=None, dtype=None, memory_format=None, seed=None, fuse=False,
                 **limits):
        from .backends.torch_backend import to_torch
        return to_torch(self.graph, device=device, dtype=dtype, memory_format=memory_format,
                        seed=seed, fuse=fuse, **limits)


class Diagram(str):
    """SVG text of a diagram that a notebook shows as the picture (`Network.render()`)."""

    def _repr_svg_(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"<Diagram: {len(self):,} characters of SVG>"


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
