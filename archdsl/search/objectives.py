"""Objectives of a search: what a feasible point is worth.

- `flops`, `params`, `macs`: the analysis totals (no torch). Alone they are maximised (use
  the budget as fully as possible); next to a quality objective (`accuracy,flops`) they are
  the cost side of the trade-off and are minimised. `max:NAME` / `min:NAME` say it outright.
- `proxy`: zero-cost proxies on one batch: the NASWOT score (the value) and synflow (kept in
  trials.csv); `naswot` and `synflow` name either one.
- `accuracy`: validation accuracy after a short training, reported per epoch to Optuna's
  pruner.

An infeasible point is never trained nor given to torch: it gets the worst value (-inf or
+inf) of every objective; its analysis totals stay in the trial's info (and trials.csv).
"""
from __future__ import annotations

import math
from typing import Optional

from ..errors import ArchError
from ..records import Record
from .train import TrainSettings, network_io

ANALYSIS = ("flops", "params", "macs")
PROXIES = ("proxy", "naswot", "synflow")
TRAINED = ("accuracy",)
KNOWN = ANALYSIS + PROXIES + TRAINED


class Objective(Record):
    name: str
    direction: str  # "maximize" | "minimize"

    @property
    def needs_torch(self) -> bool:
        return self.name not in ANALYSIS

    @property
    def label(self) -> str:
        return self.name

    def worst(self) -> float:
        return -math.inf if self.direction == "maximize" else math.inf


def parse_objectives(text: str) -> list:
    """`accuracy,flops` or `max:flops` etc. to Objectives (directions settled)."""
    items = [t.strip() for t in (text or "flops").split(",") if t.strip()]
    if not items:
        raise ArchError("--objective needs at least one objective")
    parsed = []
    for item in items:
        direction = None
        if ":" in item:
            prefix, item = item.split(":", 1)
            if prefix not in ("max", "min"):
                raise ArchError(f"--objective: {prefix!r} is not max or min")
            direction = "maximize" if prefix == "max" else "minimize"
        if item not in KNOWN:
            raise ArchError(f"unknown objective {item!r}; choose from {', '.join(KNOWN)}")
        parsed.append((item, direction))
    names = [n for n, _ in parsed]
    if len(set(names)) != len(names):
        raise ArchError("--objective names an objective twice")
    quality = any(n not in ANALYSIS for n in names)
    out = []
    for name, direction in parsed:
        if direction is None:
            direction = "minimize" if (name in ANALYSIS and quality) else "maximize"
        out.append(Objective(name, direction))
    return out


class Evaluator:
    """Objective values of a point; loads data and torch only when an objective needs them."""

    def __init__(self, objectives: list, settings: Optional[TrainSettings] = None):
        self.objectives = objectives
        self.settings = settings or TrainSettings()
        self._data = {}
        self.trained = 0  # trials trained or given to torch (for tests and the report)

    @property
    def needs_torch(self) -> bool:
        return any(o.needs_torch for o in self.objectives)

    def data(self, shape, classes):
        from .data import load_data
        key = (tuple(shape), classes)
        if key not in self._data:
            self._data[key] = load_data(self.settings.data, shape, classes, self.settings)
        return self._data[key]

    def values(self, point, trial=None) -> list:
        """Objective values (one per objective) and extra measurements (user attrs)."""
        if not point.feasible:
            # The worst value of every objective, analysis ones too (their totals are kept in
            # the trial's info): optuna-dashboard ranks trials by value alone, and so do
            # samplers blind to constraints (CMA-ES), so an over-budget network with the most
            # flops would otherwise be their "best".
            return [o.worst() for o in self.objectives], {}
        extra = {}
        results = {}
        names = {o.name for o in self.objectives}
        if names & set(PROXIES):
            from .proxies import proxies
            self.trained += 1
            shape, classes = network_io(point.graph)
            scores = proxies(point.graph, self.data(shape, classes), self.settings)
            extra.update(scores)
            results["proxy"] = scores["naswot"]
            results["naswot"] = scores["naswot"]
            results["synflow"] = scores["synflow"]
        if "accuracy" in names:
            from .train import train
            self.trained += 1
            shape, classes = network_io(point.graph)
            single = len(self.objectives) == 1
            acc, info = train(point.graph, self.data(shape, classes), self.settings,
                              trial if single else None)
            results["accuracy"] = acc
            extra.update(info)
        out = []
        for o in self.objectives:
            out.append(self._analysis(o, point) if o.name in ANALYSIS else results[o.name])
        return out, extra

    @staticmethod
    def _analysis(o: Objective, point) -> float:
        return float(point.totals[o.name])
