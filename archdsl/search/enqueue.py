"""`--enqueue zoo:NAME`: find a given network as a point of a space and seed the study with it
(`study.enqueue_trial`), e.g. ResNeXt-50 32x4d in search/resnext.arch. `--enqueue
NAME=VALUE,...` seeds it with a point given by its params, e.g. torchvision's RegNetX-400MF
(`depth=22,w0=24,wa=24.48,wm=2.54,group_width=16`), whose float params no search would hit.

The network is elaborated; then the space's params are searched coordinate by coordinate
(every value of one param, the others held) for a point whose IR has the same node names,
ops, shapes, arguments and edges. The distance counts differing nodes, so each step that
fixes a width, a group count or a depth brings it closer; a point at distance 0 is the
network itself. Only analysis runs here (no torch)."""
from __future__ import annotations

import math

from ..errors import ArchError
from ..loader import resolve_file_argument
from ..values import literal

MAX_BUILDS = 4000
LOG_GRID = 9  # points tried on a log(lo, hi) param


class _Scripted:
    """A trial that answers each suggest with the assigned value (when it is in the
    domain) or the domain's first value, and records every domain it was asked for."""

    def __init__(self, assign: dict):
        self.assign = assign
        self.domains: dict = {}
        self.params: dict = {}  # what suggest returned (Optuna's stored form)

    def _pick(self, name, domain):
        self.domains[name] = domain
        v = self.assign.get(name, domain[0])
        if v not in domain:
            v = literal(v) if literal(v) in domain else domain[0]
        self.params[name] = v
        return v

    def suggest_categorical(self, name, choices):
        return self._pick(name, list(choices))

    def suggest_int(self, name, low, high, step=1, log=False):
        return self._pick(name, list(range(low, high + 1, step)))

    def suggest_float(self, name, low, high, step=None, log=False):
        v = self.assign.get(name)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high:
            self.domains[name] = [float(v)]  # a value given outright: nothing to search
            self.params[name] = float(v)
            return float(v)
        n = LOG_GRID
        if log:
            grid = [low * (high / low) ** (i / (n - 1)) for i in range(n)]
        else:
            grid = [low + (high - low) * i / (n - 1) for i in range(n)]
        return self._pick(name, grid)


def distance(target, graph) -> float:
    """How far an IR is from the target's: 1 per node missing on either side or with another
    op; 1/2 per other shape, 1/4 per differing argument; 1/2 per edge on one side only."""
    if graph is None:
        return math.inf
    d = 0.0
    if list(target.graph["input_shape"]) != list(graph.graph["input_shape"]):
        d += 1
    for key in set(target.nodes) | set(graph.nodes):
        if key not in target or key not in graph:
            d += 1
            continue
        a, b = target.nodes[key], graph.nodes[key]
        if a["op"] != b["op"]:
            d += 1
            continue
        if tuple(a["shape"]) != tuple(b["shape"]):
            d += 0.5
        args = set(a["args"]) | set(b["args"])
        d += 0.25 * sum(1 for k in args if a["args"].get(k) != b["args"].get(k))
    ea = {(u, v, dd.get("port")) for u, v, dd in target.edges(data=True)}
    eb = {(u, v, dd.get("port")) for u, v, dd in graph.edges(data=True)}
    d += 0.5 * len(ea ^ eb)
    return d


def find_point(space, target_graph, max_builds: int = MAX_BUILDS):
    """(params in Optuna's stored form, distance, point) of the closest point found."""
    cache: dict = {}

    def evaluate(assign):
        key = tuple(sorted((k, literal(v)) for k, v in assign.items()))
        if key not in cache:
            trial = _Scripted(assign)
            point = space.sample(trial)
            cache[key] = (distance(target_graph, point.graph), trial, point)
        return cache[key]

    first_d, trial, first_point = evaluate({})
    if first_point.graph is not None:
        have = list(first_point.graph.graph["input_shape"])
        want = list(target_graph.graph["input_shape"])
        if have != want:
            args = ", ".join(f"{k}={literal(v)}" for k, v in space.args.items())
            raise ArchError(f"{target_graph.graph['name']} takes input {want} but space "
                            f"{space.name}({args}) builds networks for {have}; bind the space's "
                            f"arguments with -D (e.g. -D size={want[-1]})")
    best = (first_d, dict(trial.params), trial, first_point)
    improved = True
    while improved and best[0] > 0 and len(cache) < max_builds:
        improved = False
        for name in list(best[2].domains):
            for value in best[2].domains.get(name, []):
                if value == best[1].get(name):
                    continue
                assign = dict(best[1])
                assign[name] = value
                d, trial, point = evaluate(assign)
                if d < best[0]:
                    best = (d, dict(trial.params), trial, point)
                    improved = True
                if best[0] == 0 or len(cache) >= max_builds:
                    break
            if best[0] == 0:
                break
    return best[1], best[0], best[3]


def split_assignments(text: str) -> list:
    """`NAME=EXPR,NAME=EXPR` as [(name, expression text)], commas inside brackets or quotes
    kept (`widths=[8, 16]`); [] when `text` is not one (a zoo name or a file)."""
    import re
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    pairs = []
    for part in parts:
        m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)(.*)$", part, re.S)
        if not m or not m.group(2).strip():
            return []
        pairs.append((m.group(1), m.group(2).strip()))
    return pairs


def enqueue_params(study, space, text: str, pairs: list) -> dict:
    """Seed `study` with the point whose params are given (`NAME=EXPR,...`): every param the
    point draws must be given, in its domain; a float param takes any value in its range."""
    from .space import parse_defines
    values = parse_defines(space.scope, pairs)
    trial = _Scripted(values)
    point = space.sample(trial)
    drawn = list(trial.domains)
    unknown = [n for n in values if n not in drawn]
    if unknown:
        raise ArchError(f"--enqueue {text}: space {space.name} draws no param "
                        f"{unknown[0]!r} here (it draws {', '.join(drawn) or 'none'})")
    missing = [n for n in drawn if n not in values]
    if missing:
        raise ArchError(f"--enqueue {text}: give every param the point draws; missing "
                        f"{', '.join(missing)}")
    for name in drawn:
        given, got = values[name], trial.params[name]
        if got != given and got != literal(given) and not (
                isinstance(given, (int, float)) and isinstance(got, (int, float))
                and float(given) == float(got)):
            raise ArchError(f"--enqueue {text}: {name}={literal(given)} is not in its domain "
                            f"in space {space.name}")
    if point.error is not None:
        raise ArchError(f"--enqueue {text}: this point of space {space.name} cannot be "
                        f"built:\n{point.error}")
    study.enqueue_trial(trial.params, user_attrs={"enqueued": text}, skip_if_exists=True)
    return trial.params


def enqueue(study, space, target: str) -> dict:
    """Seed `study` with the network `target` (zoo:NAME or a file) as a point of `space`, or
    with the point `NAME=VALUE,...`."""
    from .. import network as network_mod
    from pathlib import Path
    pairs = [] if target.startswith("zoo:") or Path(target).exists() else \
        split_assignments(target)
    if pairs:
        return enqueue_params(study, space, target, pairs)
    net = network_mod.load(resolve_file_argument(target) if target.startswith("zoo:")
                           else target)
    params, d, point = find_point(space, net.graph)
    if d != 0:
        shown = ", ".join(f"{k}={literal(v)}" for k, v in params.items())
        raise ArchError(f"{target} is not a point of space {space.name}: the closest point "
                        f"found ({shown}) still differs from it (distance {d:g})")
    study.enqueue_trial(params, user_attrs={"enqueued": target}, skip_if_exists=True)
    return params
