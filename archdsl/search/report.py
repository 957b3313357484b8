"""The outputs of a search, written into --out: `best.arch` (the best feasible trial as a
concrete network, every parameter bound, that `archdsl compile` accepts; its header holds
the training configuration that reproduces its accuracy), `trials.csv` (every trial of
every study), `edf.png` and `edf.csv` (the empirical distribution of the objective over
feasible trials, one curve per space, as in Radosavovic et al., "Designing Network Design
Spaces"), and for several objectives `pareto.png`, `pareto.csv` and `pareto/NNN.arch` (one
network per Pareto-optimal trial). An output that this run has nothing for (no feasible
trial yet) is removed rather than left from an earlier run."""
from __future__ import annotations

import bisect
import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Optional

from ..elaborate import VALID
from ..files import atomic_write
from ..loader import STDLIB
from ..values import literal
from .records import CONFIG_LINE, TRAIN_CONFIG, constraint_keys, named_constraints, source_slice

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
        texts.append((path, defn.name, source_slice(defn.span)))
    return texts




def arch_text(space, trial, objectives, name: str = "best", what: str = "The best trial") -> str:
    """A self-contained .arch file: the definitions the space's network needs, copied from
    its file, and `network NAME = NET(every argument bound)`; the header says where it comes
    from, its values, and how it was trained (so that re-training reproduces the accuracy)."""
    from optuna.trial import FixedTrial
    point = space.sample(FixedTrial(trial.params), build=False)
    defs = _definition_texts(space)
    taken = {n for _, n, _ in defs}
    while name in taken:
        name += "_"
    out = [f"# {what} of an archdsl search: trial {trial.number} of space "
           f"{space.name} in {space.path}",
           "# space arguments: " + ", ".join(f"{k}={literal(v)}" for k, v in space.args.items()),
           "# params: " + ", ".join(f"{k}={literal(v)}" for k, v in point.params.items())]
    if point.derived:
        out.append("# derived: " + ", ".join(f"{k}={literal(v)}"
                                            for k, v in point.derived.items()))
    vals = ", ".join(f"{o.name} {_fmt(v)}" for o, v in zip(objectives, trial.values))
    tot = ", ".join(f"{k} {info(trial)[k]:,}" for k in TOTALS if k in info(trial))
    out.append(f"# objective: {vals}; totals: {tot}")
    if "test_accuracy" in trial.user_attrs:
        out.append(f"# test accuracy (reported only, never used to choose): "
                   f"{trial.user_attrs['test_accuracy']:.6g}")
    config = trial.user_attrs.get(TRAIN_CONFIG)
    if config:
        out.append("# trained with: " + ", ".join(f"{k}={v}" for k, v in config.items()))
        out.append("# re-train: archdsl.search.train.retrain(\"THIS_FILE\") reads the next line")
        out.append(CONFIG_LINE + json.dumps(config, sort_keys=True))
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


def best_arch_text(space, trial, objectives, name: str = "best") -> str:
    return arch_text(space, trial, objectives, name)


def _fmt(v) -> str:
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e18:
        return f"{int(v):,}"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


# ---------------------------------------------------------------------- trials.csv


def trials_table(result) -> tuple:
    """(header, rows) of every trial of every study. A dict-valued attribute (the training
    configuration) gives one column per key (`train_config.seed`, ...)."""
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
            for k in named_constraints(t):
                if k != VALID and k not in constraints:
                    constraints.append(k)
            for k, v in t.user_attrs.items():
                if k in ("info", "enqueued"):
                    continue
                for col in ([(k, sub) for sub in v] if isinstance(v, dict) else [(k, None)]):
                    if col not in extras:
                        extras.append(col)
    reserved = set(FIXED) | set(value_cols) | set(TOTALS) | {"error", "enqueued", "duration_s",
                                                              "sampler"}
    pcols = [f"param_{k}" if k in reserved else k for k in params]
    reserved |= set(pcols)
    dcols = [f"let_{k}" if k in reserved else k for k in derived]
    ccols = [f"require: {k}" for k in constraints]
    ecols = [k if sub is None else f"{k}.{sub}" for k, sub in extras]
    header = list(FIXED) + value_cols + pcols + dcols + list(TOTALS) + ccols + ecols + \
        ["sampler", "error", "enqueued", "duration_s"]
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
        named = named_constraints(t)
        row += [named.get(k, "") for k in constraints]
        for k, sub in extras:
            v = t.user_attrs.get(k)
            row.append(_cell(v.get(sub) if isinstance(v, dict) else (None if sub else v)))
        dur = t.duration.total_seconds() if t.duration is not None else ""
        err = (inf.get("error") or "").splitlines()
        row += [inf.get("sampler", ""), err[0] if err else "", t.user_attrs.get("enqueued", ""),
                f"{dur:.3f}" if dur != "" else ""]
        rows.append(row)
    return header, rows


def _cell(v):
    if v is None:
        return ""
    if isinstance(v, (list, bool)):
        return literal(v)
    return v


def _csv_text(header, rows) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def trials_csv(result) -> str:
    return _csv_text(*trials_table(result))


# ---------------------------------------------------------------------- budgets


_BOUND = re.compile(r"^\s*(flops|params|macs|memory)\s*(<=|<)\s*(.+?)\s*$")


def budgets(space) -> dict:
    """{total: bound} for the space's `require TOTAL <= X` constraints whose X is a number
    or one of the space's arguments (`require flops <= budget`): the lines on the plots."""
    from ..syntax import parse_number
    out = {}
    for key in constraint_keys(space):
        m = _BOUND.match(key)
        if not m:
            continue
        total, _, bound = m.groups()
        value = space.args.get(bound)
        if value is None:
            try:
                value = parse_number(bound)
            except Exception:
                continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            out[total] = min(value, out.get(total, value))
    return out


def _budget(result, total: str):
    """The tightest bound on a total over the result's spaces, if every space has one."""
    bounds = [budgets(space).get(total) for space, _ in result.studies]
    return min(bounds) if bounds and all(b is not None for b in bounds) else None


# ---------------------------------------------------------------------- EDF


def edf_quantity(o) -> tuple:
    """(axis label, what the EDF is of) for an objective."""
    if o.name == "accuracy":
        return ("validation error (1 - accuracy)",
                "error = 1 - validation accuracy (pycls's EDF: fraction of models with "
                "error <= e)")
    if o.name in TOTALS:
        return (o.name, f"EDF of {o.name}, not error: {o.name} of each feasible sample (an "
                        f"analysis-only objective: the distribution of the cost itself, not "
                        f"of an error)")
    return (f"{o.name} score", f"EDF of the {o.name} score, not error: {o.name} of each "
                               f"feasible sample (a zero-cost proxy, not an error)")


def _sampling(samplers: set, enqueued: bool) -> tuple:
    """(label, uniform?) of how a curve's trials were drawn."""
    from .samplers import ADAPTIVE
    names = "+".join(sorted(samplers)) or "?"
    adaptive = sorted(samplers & set(ADAPTIVE))
    if adaptive or enqueued:
        why = f"{'+'.join(adaptive)} adapts to earlier trials" if adaptive else \
            "enqueued trials"
        return f"{names}: not a uniform sample ({why})", False
    return f"{names}: uniform sample of the feasible space", True


def edf_table(result) -> tuple:
    """(curves, header, rows, notes): per space the sorted values of the first objective over
    feasible complete trials (errors for accuracy), and the CSV of them."""
    o = result.objectives[0]
    label, what = edf_quantity(o)
    curves, rows, notes = [], [], []
    for space, study in result.studies:
        points, samplers, enqueued = [], set(), False
        for t in study.get_trials(deepcopy=False):
            if not (is_complete(t) and is_feasible(t) and _finite(t.values)):
                continue
            v = t.values[0]
            points.append((1 - v if o.name == "accuracy" else v, t.number))
            samplers.add(info(t).get("sampler") or result.sampler)
            enqueued |= bool(t.user_attrs.get("enqueued"))
        points.sort()
        sampling, uniform = _sampling(samplers, enqueued)
        n = len(points)
        values = [v for v, _ in points]
        for v, number in points:  # F(v): the fraction of samples <= v (ties included)
            rows.append([space.name, number, v, bisect.bisect_right(values, v) / n, n, what,
                         sampling])
        curves.append((space.name, [v for v, _ in points], sampling, uniform))
        if points and not uniform:
            notes.append(f"edf: {space.name}'s {n} trial{'s' if n != 1 else ''}: {sampling}; "
                         f"to compare design spaces use --sampler random")
    if rows and o.name != "accuracy":
        notes.append(f"edf: {what.split(':', 1)[0]} (--objective accuracy gives the error "
                     f"EDFs of pycls's comparison)")
    header = ["space", "trial", "value", "edf", "n", "quantity", "sampling"]
    return curves, header, rows, notes


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _cost_axis(ax, axis: str, values, budget) -> None:
    """Log scale for a cost axis (whose values span more than a decade, or that has a
    budget); a dashed line at its budget."""
    positive = [v for v in values if v > 0]
    if (positive and max(positive) / min(positive) > 10) or budget:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    if budget:
        line = ax.axvline if axis == "x" else ax.axhline
        line(budget, color="tab:red", ls="--", lw=1, label=f"budget {_si(budget)}")


def _si(v) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:g}{unit}"
    return f"{v:g}"


def write_edf(result, path: Path, csv_path: Optional[Path] = None) -> bool:
    """EDF of the first objective over feasible trials, one curve per space (of the error
    1 - accuracy for accuracy, as the RegNet paper plots it); its data in `csv_path`."""
    o = result.objectives[0]
    curves, header, rows, notes = edf_table(result)
    result_notes = getattr(result, "notes", None)
    if result_notes is not None:
        result_notes.extend(notes)
    if not rows:
        return False
    if csv_path is not None:
        atomic_write(csv_path, _csv_text(header, rows), force=True)
    label, what = edf_quantity(o)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    for name, vals, sampling, uniform in curves:
        if not vals:
            continue
        n = len(vals)
        ax.step([vals[0]] + vals, [0] + [(i + 1) / n for i in range(n)], where="post",
                ls="-" if uniform else ":",
                label=f"{name} (n={n}){'' if uniform else ', adaptive: not uniform'}")
    if o.name in TOTALS:
        _cost_axis(ax, "x", [v for _, vals, _, _ in curves for v in vals], _budget(result, o.name))
    ax.set_xlabel(label)
    ax.set_ylabel("cumulative fraction of feasible trials")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    title = "EDF of error" if o.name == "accuracy" else what.split(":", 1)[0]
    if o.name in TOTALS:
        title += " (an analysis-only objective: the cost itself)"
    elif o.name != "accuracy":
        title += " (a zero-cost proxy)"
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), force=True)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------- Pareto set


def pareto_items(result) -> list:
    """The Pareto-optimal feasible trials, by space then number."""
    items = pareto_front(candidates(result), result.objectives)
    order = {id(s): i for i, (s, _) in enumerate(result.studies)}
    return sorted(items, key=lambda i: (order[id(i[0])], i[2].number))


def pareto_name(result, space, trial) -> str:
    """pareto/trial_NNN.arch (SPACE_trial_NNN.arch with several spaces): the file's stem is
    its network's name, so `archdsl compile pareto/trial_012.arch` needs no --network."""
    prefix = f"{space.name}_" if len(result.studies) > 1 else ""
    return f"{prefix}trial_{trial.number:03d}.arch"


_PARETO_FILE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*_)?trial_\d{3,}\.arch$")


def write_pareto_set(result, out: Path) -> list:
    """pareto.csv (one row per Pareto-optimal trial) and pareto/NNN.arch (its network);
    earlier pareto/*.arch of this search that left the front are removed."""
    items = pareto_items(result)
    folder = out / "pareto"
    keep = set()
    files = []
    if items:
        folder.mkdir(exist_ok=True)
    objectives = result.objectives
    params = []
    for _, _, t in items:
        for k in t.params:
            if k not in params:
                params.append(k)
    header = ["space", "number"] + [f"value_{o.name}" for o in objectives] + params + \
        list(TOTALS) + ["file"]
    rows = []
    for space, _study, t in items:
        name = pareto_name(result, space, t)
        keep.add(name)
        atomic_write(folder / name, arch_text(space, t, objectives, name=name[:-len(".arch")],
                                              what="A Pareto-optimal trial"), force=True)
        rows.append([space.name, t.number] + list(t.values) +
                    [_cell(t.params.get(k)) for k in params] +
                    [info(t).get(k, "") for k in TOTALS] + [f"pareto/{name}"])
    if folder.is_dir():
        for f in folder.iterdir():
            if f.name not in keep and _PARETO_FILE.match(f.name):
                f.unlink()
    if items:
        atomic_write(out / "pareto.csv", _csv_text(header, rows), force=True)
        files += [out / "pareto.csv", folder]
    return files


def write_pareto(result, path: Path) -> bool:
    """The first two objectives of every feasible trial, the Pareto front drawn as a line;
    a cost axis (flops, params, macs) is logarithmic, with its budget."""
    objectives = result.objectives
    items = candidates(result)
    if len(objectives) < 2 or not items:
        return False
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=100)
    for space, _study in result.studies:
        pts = [i[2].values for i in items if i[0] is space]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=14, alpha=0.6,
                       label=space.name)
    front = sorted((i[2].values for i in pareto_front(items, objectives)), key=lambda v: v[0])
    ax.plot([p[0] for p in front], [p[1] for p in front], "k-", lw=1, marker="o", ms=5,
            mfc="none", label=f"Pareto front ({len(front)})")
    for axis, o, k in (("x", objectives[0], 0), ("y", objectives[1], 1)):
        if o.name in TOTALS:
            _cost_axis(ax, axis, [i[2].values[k] for i in items], _budget(result, o.name))
    ax.set_xlabel(f"{objectives[0].name} ({objectives[0].direction[:3]})")
    ax.set_ylabel(f"{objectives[1].name} ({objectives[1].direction[:3]})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    ax.set_title("feasible trials")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), force=True)
    plt.close(fig)
    return True


# ---------------------------------------------------------------------- all of them

STALE = ("best.arch", "edf.png", "edf.csv", "pareto.png", "pareto.csv")


def write_outputs(result) -> list:
    """Every output this run has; outputs of an earlier run of the same search that this one
    has nothing for are removed (never a file the search did not write: --out was checked to
    be this search's)."""
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
    if write_edf(result, out / "edf.png", out / "edf.csv"):
        files += [out / "edf.png", out / "edf.csv"]
    if len(result.objectives) > 1:
        if write_pareto(result, out / "pareto.png"):
            files.append(out / "pareto.png")
        files += write_pareto_set(result, out)
    for name in STALE:
        if out / name not in files and (out / name).is_file():
            (out / name).unlink()
    if not any(f == out / "pareto" for f in files) and (out / "pareto").is_dir():
        for f in (out / "pareto").iterdir():
            if _PARETO_FILE.match(f.name):
                f.unlink()
    return files
