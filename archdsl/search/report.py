"""The outputs of a search, written into --out: `best.arch` (the best feasible trial as a
concrete network, every parameter bound, that `archdsl compile` accepts), `trials.csv`
(every trial of every study), `edf.png` (the empirical distribution of the objective over
feasible trials, one curve per space, as in Radosavovic et al., "Designing Network Design
Spaces") and, for several objectives, `pareto.png`."""
from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from ..elaborate import VALID
from ..errors import registered_source
from ..files import atomic_write
from ..loader import STDLIB
from ..values import literal

FIXED = ("space", "number", "state", "feasible")
TOTALS = ("flops", "params", "macs")


def is_feasible(t) -> bool:
    return all(v <= 0 for v in t.constraints.values())


def info(t) -> dict:
    """What the objective recorded: space, derived, params, macs, error, worker; and flops."""
    return t.user_attrs.get("info") or {}


def is_complete(t) -> bool:
    from optuna.trial import TrialState
    return t.state == TrialState.COMPLETE


def _finite(values) -> bool:
    return values is not None and all(math.isfinite(v) for v in values)


def candidates(result) -> list:
    """(space, study, trial) of every feasible complete trial with finite values."""
    out = []
    for space, study in result.studies:
        for t in study.get_trials(deepcopy=False):
            if is_complete(t) and is_feasible(t) and _finite(t.values):
                out.append((space, study, t))
    return out


def _dominates(a, b, signs) -> bool:
    at = [s * v for s, v in zip(signs, a)]
    bt = [s * v for s, v in zip(signs, b)]
    return all(x >= y for x, y in zip(at, bt)) and any(x > y for x, y in zip(at, bt))


def pareto_front(items: list, objectives) -> list:
    signs = [1 if o.direction == "maximize" else -1 for o in objectives]
    return [i for i in items if not any(_dominates(j[2].values, i[2].values, signs)
                                        for j in items if j is not i)]


def best_item(result):
    """The best feasible trial over every space: by the objective, or for several objectives
    the Pareto trial best in the first one."""
    items = candidates(result)
    if not items:
        return None
    if len(result.objectives) > 1:
        items = pareto_front(items, result.objectives)
    sign = 1 if result.objectives[0].direction == "maximize" else -1
    return max(items, key=lambda i: (sign * i[2].values[0], -i[2].number))


# ---------------------------------------------------------------------- best.arch


def _definition_texts(space) -> list:
    """Source text of every non-space definition the space's file can see outside the
    standard library (its own and those of the files it uses), in file order."""
    chosen = []
    for name, (defn, scope) in space.scope.visible.items():
        if defn.kind == "space":
            continue
        try:
            if Path(scope.path).resolve().parent == STDLIB:
                continue
        except OSError:
            pass
        chosen.append((scope.path != space.scope.path, str(scope.path), defn.span.line, defn))
    chosen.sort(key=lambda c: (not c[0], c[1], c[2]))
    texts = []
    for _, path, _, defn in chosen:
        texts.append((path, defn.name, _slice(defn.span)))
    return texts


def _slice(span) -> str:
    text = registered_source(span.file)
    if text is None:
        text = Path(span.file).read_text(encoding="utf-8")
    lines = text.splitlines()
    first, last = span.line - 1, (span.end_line or span.line) - 1
    if first == last:
        return lines[first][span.col - 1:(span.end_col or len(lines[first]) + 1) - 1]
    body = [lines[first][span.col - 1:]] + lines[first + 1:last] + \
        [lines[last][:(span.end_col or len(lines[last]) + 1) - 1]]
    return "\n".join(body)


def best_arch_text(space, trial, objectives, name: str = "best") -> str:
    """A self-contained .arch file: the definitions the space's network needs, copied from
    its file, and `network best = NET(every argument bound)`."""
    from optuna.trial import FixedTrial
    point = space.sample(FixedTrial(trial.params), build=False)
    defs = _definition_texts(space)
    taken = {n for _, n, _ in defs}
    while name in taken:
        name += "_"
    out = [f"# The best trial of an archdsl search: trial {trial.number} of space "
           f"{space.name} in {space.path}",
           "# space arguments: " + ", ".join(f"{k}={literal(v)}" for k, v in space.args.items()),
           "# params: " + ", ".join(f"{k}={literal(v)}" for k, v in point.params.items())]
    if point.derived:
        out.append("# derived: " + ", ".join(f"{k}={literal(v)}"
                                            for k, v in point.derived.items()))
    vals = ", ".join(f"{o.name} {_fmt(v)}" for o, v in zip(objectives, trial.values))
    tot = ", ".join(f"{k} {info(trial)[k]:,}" for k in TOTALS if k in info(trial))
    out.append(f"# objective: {vals}; totals: {tot}")
    out.append("")
    last = None
    for path, _, text in defs:
        if path != last:
            out.append(f"# from {path}")
            last = path
        out.append(text)
        out.append("")
    out.append(f"network {name} = {literal(point.value)}")
    return "\n".join(out) + "\n"


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e18:
        return f"{int(v):,}"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------- trials.csv


def trials_table(result) -> tuple:
    """(header, rows) of every trial of every study."""
    objectives = result.objectives
    value_cols = [f"value_{o.name}" for o in objectives]
    params, derived, constraints, extras = [], [], [], []
    trials = []
    for space, study in result.studies:
        for t in study.get_trials(deepcopy=False):
            trials.append((space, t))
            for k in t.params:
                if k not in params:
                    params.append(k)
            for k in info(t).get("derived", {}):
                if k not in derived:
                    derived.append(k)
            for k in t.constraints:
                if k != VALID and k not in constraints:
                    constraints.append(k)
            for k in t.user_attrs:
                if k not in ("info", "enqueued") and k not in extras:
                    extras.append(k)
    reserved = set(FIXED) | set(value_cols) | set(TOTALS) | {"error", "enqueued", "duration_s"}
    pcols = [f"param_{k}" if k in reserved else k for k in params]
    reserved |= set(pcols)
    dcols = [f"let_{k}" if k in reserved else k for k in derived]
    ccols = [f"require: {k}" for k in constraints]
    header = list(FIXED) + value_cols + pcols + dcols + list(TOTALS) + ccols + extras + \
        ["error", "enqueued", "duration_s"]
    rows = []
    for space, t in trials:
        values = t.values or []
        row = [space.name, t.number, t.state.name.lower(), is_feasible(t)]
        row += [v if math.isfinite(v) else "" for v in values] + [""] * (len(value_cols) - len(values))
        row += [_cell(t.params.get(k)) for k in params]
        inf = info(t)
        d = inf.get("derived", {})
        row += [_cell(d.get(k)) for k in derived]
        row += [inf.get(k, "") for k in TOTALS]
        row += [t.constraints.get(k, "") for k in constraints]
        row += [_cell(t.user_attrs.get(k)) for k in extras]
        dur = t.duration.total_seconds() if t.duration is not None else ""
        err = (inf.get("error") or "").splitlines()
        row += [err[0] if err else "", t.user_attrs.get("enqueued", ""),
                f"{dur:.3f}" if dur != "" else ""]
        rows.append(row)
    return header, rows


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (list, bool)):
        return literal(v)
    return v


def trials_csv(result) -> str:
    header, rows = trials_table(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


# ---------------------------------------------------------------------- plots


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def write_edf(result, path: Path) -> bool:
    """EDF of the first objective over feasible trials, one curve per space: for accuracy,
    of the error (1 - accuracy), as the RegNet paper plots it."""
    o = result.objectives[0]
    curves = []
    for space, study in result.studies:
        vals = sorted(t.values[0] for t in study.get_trials(deepcopy=False)
                      if is_complete(t) and is_feasible(t) and _finite(t.values))
        if o.name == "accuracy":
            vals = sorted(1 - v for v in vals)
        curves.append((space.name, vals))
    if not any(v for _, v in curves):
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for name, vals in curves:
        if not vals:
            continue
        n = len(vals)
        ax.step([vals[0]] + vals, [0] + [(i + 1) / n for i in range(n)], where="post",
                label=f"{name} (n={n})")
    ax.set_xlabel("validation error (1 - accuracy)" if o.name == "accuracy" else o.name)
    ax.set_ylabel("cumulative fraction of feasible trials")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    ax.set_title(f"EDF of {'error' if o.name == 'accuracy' else o.name}")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), force=True)
    plt.close(fig)
    return True


def write_pareto(result, path: Path) -> bool:
    """The first two objectives of every feasible trial, the Pareto front drawn as a line."""
    objectives = result.objectives
    items = candidates(result)
    if len(objectives) < 2 or not items:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for space, _study in result.studies:
        pts = [i[2].values for i in items if i[0] is space]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.6,
                       label=space.name)
    front = sorted((i[2].values for i in pareto_front(items, objectives)), key=lambda v: v[0])
    ax.plot([p[0] for p in front], [p[1] for p in front], "k-", lw=1, marker="o", ms=5,
            mfc="none", label=f"Pareto front ({len(front)})")
    ax.set_xlabel(f"{objectives[0].name} ({objectives[0].direction[:3]})")
    ax.set_ylabel(f"{objectives[1].name} ({objectives[1].direction[:3]})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    ax.set_title("feasible trials")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), force=True)
    plt.close(fig)
    return True


def write_outputs(result) -> list:
    out = result.out
    files = []
    atomic_write(out / "trials.csv", trials_csv(result), force=True)
    files.append(out / "trials.csv")
    best = best_item(result)
    if best is not None:
        space, _study, trial = best
        atomic_write(out / "best.arch", best_arch_text(space, trial, result.objectives),
                     force=True)
        files.append(out / "best.arch")
    if write_edf(result, out / "edf.png"):
        files.append(out / "edf.png")
    if len(result.objectives) > 1 and write_pareto(result, out / "pareto.png"):
        files.append(out / "pareto.png")
    return files
