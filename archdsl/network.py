"""The Python API: load a file (or text), choose a network, elaborate it, and hand out its
IR, its cost summary and, on request, its PyTorch module."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from . import analysis
from .elaborate import Elaborator
from .errors import ArchError
from .suggest import did_you_mean
from .loader import FileScope, Loader, resolve_file_argument
from .units import count_text
from .values import DefValue, is_data


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
            hint = did_you_mean(network, [d.name for d in own])
            raise ArchError(f"no network named {network!r}{hint} (networks here: {names})")
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
    text, path = _source_arguments(text, path)
    if network is not None and not isinstance(network, str):
        raise ArchError(f"network must be a name (a string), got {network!r}")
    if max_nodes is not None and not (_is_int(max_nodes) and max_nodes > 0):
        raise ArchError(f"max_nodes must be a positive integer, got {max_nodes!r}")
    shape = None if input_shape is None else _input_shape(input_shape)
    for k, v in args.items():
        if not is_data(v) and not isinstance(v, tuple):
            raise ArchError(f"argument {k}= must be a number, string, boolean, None or a list "
                            f"of them, got {v!r}")
    loader = Loader()
    if text is not None:
        scope = loader.load_text(text, path or "<string>")
    else:
        scope = loader.load_path(resolve_file_argument(path))
    defn, where = choose_network(scope, network)
    value = DefValue(defn, where)
    if args:
        from .values import Partial
        value = Partial(value, (), tuple((k, _as_value(v)) for k, v in args.items()))
    elab = Elaborator(max_nodes)
    elab.input_override = shape
    graph = elab.network(value, defn.span)
    return Network(graph, scope.path)


# ---------------------------------------------------------------------- load()'s arguments
# Checked before anything is read, each refusal an ArchError naming the argument (not a
# TypeError from deep inside the parser or the elaborator).


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _source_arguments(text, path):
    """(text as str or None, path as str or None): text is a str, or bytes of UTF-8 (read
    as a file is); path a str or os.PathLike."""
    if path is not None:
        if not isinstance(path, (str, os.PathLike)):
            raise ArchError(f"path must be a string or a path, got {path!r}")
        path = os.fspath(path)
        if not isinstance(path, str):  # a PathLike of bytes
            raise ArchError(f"path must be a string or a path, got {path!r}")
    if text is None:
        if path is None:
            raise ArchError("load() needs a path or text=")
        return None, path
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ArchError(f"text= is not UTF-8 (byte {e.start}: "
                            f"0x{text[e.start]:02x})") from None
    if not isinstance(text, str):
        raise ArchError(f"text must be a string (or UTF-8 bytes), got {type(text).__name__}")
    return text, path


def _input_shape(v) -> tuple:
    """input_shape=: (C, H, W) or (N,) of positive integers, as the `input` statement and
    --input take."""
    if not (isinstance(v, (list, tuple)) and len(v) in (1, 3)
            and all(_is_int(x) and x > 0 for x in v)):
        raise ArchError(f"input_shape must be (C, H, W) or (N,) of positive integers, "
                        f"got {v!r}")
    return tuple(v)


def _as_value(v):
    """A Python argument as a value of the language: tuples become lists."""
    return [_as_value(x) for x in v] if isinstance(v, (list, tuple)) else v
