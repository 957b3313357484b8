"""Design-rule search (`archdsl search`): spaces written in the language, searched with Optuna.

`space.py` binds a `space` and has an Optuna trial answer its params (the interpreter,
elaborate.py, elaborates the point; analysis only), `objectives.py` turns a point
into objective values, `study.py` runs the Optuna study, `report.py` writes the outputs,
`enqueue.py` finds a given network (`zoo:NAME`) as a point of a space, and `data.py`,
`train.py` and `proxies.py` hold the only code that imports torch (for `accuracy` and the
zero-cost proxies).
"""
from .space import Point, Space, load_spaces

__all__ = ["Point", "Space", "load_spaces"]
