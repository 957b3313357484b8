"""Diagrams of a network: `view.py` maps the IR to what is drawn (pure), `dot.py` writes that
view as graphviz DOT and runs `dot`, `export.py` writes pictures, DOT and graph data
(.graphml, .json) to files. Never imports torch."""
