"""Diagrams of a network: `view.py` maps the IR to what is drawn (pure), `dot.py` writes that
view as graphviz DOT and runs `dot`, `html.py` builds the explorable page from several views,
`export.py` writes pictures, pages, DOT and graph data (.graphml, .json) to files. Never
imports torch.

For a caller that shows a diagram itself (a notebook's `_repr_svg_` / `_repr_html_`):
`to_svg(graph, depth="auto")` is the SVG text, `to_html(graph, depth="auto")` the page."""
__all__ = ["to_html", "to_svg"]


def __getattr__(name):
    # Imported on first use: the command line imports `view` for its help text, and should
    # not pay at every start for the DOT and HTML writers (a few milliseconds).
    if name in __all__:
        from . import export
        return getattr(export, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
