"""Running a search: Optuna studies over one or more spaces, their storage, resuming, the
progress bar, Ctrl-C, and handing the finished studies to `report.py`.

Every trial is elaborated and analysed first (`Space.sample`, no torch). Each `require`
becomes an Optuna constraint (`trial.set_constraint`); a trial that breaks one completes at
once, infeasible, so the sampler learns the boundary, and is never trained. The studies live
in an Optuna RDB storage (SQLite in --out by default, any SQLAlchemy URL otherwise, e.g.
PostgreSQL shared by several workers) with heartbeats, so a killed worker's trial is marked
failed rather than left running. Running again with the same storage and study resumes.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..errors import ArchError
from ..files import atomic_write
from .objectives import Evaluator, TrainSettings, parse_objectives
from .space import load_spaces

MARKER = "search.json"  # in --out: which storage and studies the directory's results are from
OUTPUTS = ("best.arch", "trials.csv", "edf.png", "pareto.png", "study.db", MARKER)
HEARTBEAT = 10  # seconds between a running trial's heartbeats
GRACE = 60  # a RUNNING trial without a heartbeat for this long is marked FAIL


@dataclass
class SearchConfig:
    space_file: str
    spaces: Optional[list] = None  # names; None: the file's default
    defines: list = field(default_factory=list)  # [(name, expression text)]
    args: dict = field(default_factory=dict)  # space arguments as values (e.g. budget)
    objective: str = "flops"
    trials: Optional[int] = None
    timeout: Optional[float] = None
    storage: Optional[str] = None
    study: Optional[str] = None
    out: Optional[str] = None
    seed: Optional[int] = None
    n_jobs: int = 1
    enqueue: list = field(default_factory=list)
    force: bool = False
    progress: bool = True
    settings: TrainSettings = field(default_factory=TrainSettings)


@dataclass
class SearchResult:
    out: Path
    storage: str
    studies: list  # [(Space, optuna.Study)]
    objectives: list
    interrupted: bool = False
    new_trials: int = 0
    evaluator: object = None
    files: list = field(default_factory=list)


def _quiet_optuna():
    import optuna
    # Errors only: a trial stopped by Ctrl-C would otherwise be logged with its traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*heartbeat.*")


# ---------------------------------------------------------------------- --out and storage


def default_out(study: str) -> str:
    return str(Path("runs") / study)


def prepare_out(out: Path, storage: str, studies: list, force: bool) -> None:
    """Create --out, or accept it when it holds this very search (resume); refuse a directory
    with another search's results unless --force."""
    if out.exists() and not out.is_dir():
        raise ArchError(f"--out {out} is a file, not a directory")
    marker = out / MARKER
    if out.is_dir() and not force:
        if marker.exists():
            try:
                have = json.loads(marker.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                have = {}
            if have.get("storage_sha256") != _digest(storage) or sorted(
                    have.get("studies", [])) != sorted(studies):
                raise ArchError(
                    f"--out {out} holds the results of another search (study "
                    f"{', '.join(have.get('studies', [])) or '?'} in {have.get('storage', '?')}); "
                    f"choose another --out, or pass --force to overwrite its files")
        elif any((out / name).exists() for name in OUTPUTS):
            raise ArchError(f"--out {out} holds search results that are not from this study; "
                            f"choose another --out, or pass --force to overwrite them")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArchError(f"cannot create --out {out}: {e.strerror}") from None
    # The URL may hold a password: the marker keeps it redacted, and a digest to compare.
    atomic_write(marker, json.dumps({"storage": redact(storage), "storage_sha256":
                                     _digest(storage), "studies": studies}, indent=1) + "\n",
                 force=True)


def _digest(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_storage(url: str, attempts: int = 5):
    """An Optuna RDB storage with heartbeats; SQLite waits for locks instead of failing.
    Workers that start together on a fresh database race to create Optuna's tables: the
    loser retries."""
    import optuna
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs = {"connect_args": {"timeout": 60}}
    for attempt in range(attempts):
        try:
            storage = optuna.storages.RDBStorage(url, engine_kwargs=kwargs,
                                                 heartbeat_interval=HEARTBEAT,
                                                 grace_period=GRACE)
            if url.startswith("sqlite"):
                _sqlite_wal(storage.engine)
            return storage
        except ModuleNotFoundError as e:
            raise ArchError(f"--storage {redact(url)} needs the Python package {e.name!r} "
                            f"(pip install it)") from None
        except Exception as e:  # SQLAlchemy: bad URL, server not reachable, a race, ...
            error = e
            if "duplicate key" not in str(e) and "already exists" not in str(e):
                break
            time.sleep(0.5 + attempt)
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise ArchError(f"cannot open --storage {redact(url)}: {text}")


def _sqlite_wal(engine) -> None:
    """Write-ahead logging without an fsync per commit: a trial makes a dozen small
    commits, and on a slow disk each fsync costs more than elaborating the network. The
    database stays consistent after a crash (the last commits may be lost)."""
    from sqlalchemy import event

    def pragmas(conn, _record):
        cur = conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    event.listen(engine, "connect", pragmas)
    engine.dispose()  # connections made so far reconnect with the pragmas


def redact(url: str) -> str:
    """A storage URL without its password, for messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


# ---------------------------------------------------------------------- studies


def _meta(space, objectives, space_file: str) -> dict:
    from ..values import literal
    return {"space": space.name, "file": str(Path(space_file).resolve()) if not
            space_file.startswith("zoo:") else space_file,
            "args": {k: literal(v) for k, v in space.args.items()},
            "objectives": [f"{o.direction[:3]}:{o.name}" for o in objectives]}


def _sampler(objectives, seed, n_jobs):
    import optuna
    if len(objectives) > 1:
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, multivariate=True,
                                      constant_liar=n_jobs > 1, n_startup_trials=10)


def open_study(storage, name: str, space, objectives, cfg: SearchConfig, index: int):
    import optuna
    meta = _meta(space, objectives, cfg.space_file)
    directions = [o.direction for o in objectives]
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        have = existing.user_attrs.get("archdsl")
        # None: another worker created it a moment ago and has not labelled it yet
        same = have in (None, meta) and list(existing.directions) == [
            optuna.study.StudyDirection.MAXIMIZE if d == "maximize" else
            optuna.study.StudyDirection.MINIMIZE for d in directions]
        if not same:
            if not cfg.force:
                raise ArchError(f"study {name!r} in this storage was run with other settings "
                                f"({_describe(have)}; now {_describe(meta)}); choose another "
                                f"--study, or pass --force to delete it and start again")
            optuna.delete_study(study_name=name, storage=storage)
    seed = None if cfg.seed is None else cfg.seed + 1000 * index
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0) \
        if len(objectives) == 1 and objectives[0].name == "accuracy" else optuna.pruners.NopPruner()
    study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                sampler=_sampler(objectives, seed, cfg.n_jobs), pruner=pruner,
                                load_if_exists=True)
    if "archdsl" not in study.user_attrs:
        study.set_user_attr("archdsl", meta)
    return study


def _describe(meta) -> str:
    if not meta:
        return "not by archdsl search"
    args = ", ".join(f"{k}={v}" for k, v in meta.get("args", {}).items())
    return f"space {meta.get('space')}({args}), objective {','.join(meta.get('objectives', []))}"


class TrialFailed(Exception):
    """A trial raised: Optuna records it as failed (with the message) and the study goes on."""


def make_objective(space, evaluator: Evaluator, worker: str = ""):
    """The function Optuna calls per trial. What it records: the user attr `info` (space,
    derived values, flops, params, macs, the build error if any, the worker), and one
    constraint per `require` (plus `valid` = 1 when the network could not be built). Few
    storage writes: in Optuna's ordinary loop each one is a transaction."""
    import optuna

    def objective(trial):
        point = space.sample(trial)
        info = {"space": space.name, "derived": point.derived, "worker": worker}
        if point.totals is not None:
            info.update({k: point.totals[k] for k in ("flops", "params", "macs")})
        if point.error is not None:
            info["error"] = point.error
        trial.set_user_attr("info", info)
        for key, value in point.constraints.items():
            trial.set_constraint(key, value)
        try:
            values, extra = evaluator.values(point, trial)
        except (ArchError, KeyboardInterrupt, optuna.TrialPruned):
            raise
        except Exception as e:  # out of memory in training, a NaN loss...: this trial only
            message = f"{type(e).__name__}: {e}"
            trial.set_user_attr("error", message)
            raise TrialFailed(message) from e
        for key, value in extra.items():
            trial.set_user_attr(key, value)
        return values[0] if len(values) == 1 else values

    return objective


def feasible(trial) -> bool:
    return all(v <= 0 for v in trial.constraints.values())


# ---------------------------------------------------------------------- progress


class _Progress:
    """A rich progress bar: trials done, best value so far, the best trial's FLOPs."""

    def __init__(self, enabled: bool, objectives, total: Optional[int]):
        self.enabled = enabled
        self.objectives = objectives
        self.total = total
        self.best = None  # (value, flops)
        self.done = 0
        self.pareto = 0
        self._progress = None

    def __enter__(self):
        if self.enabled:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[best]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def start_space(self, name: str, study):
        self.best = None
        self._seed_best(study)
        if self._progress is not None:
            self.task = self._progress.add_task(name, total=self.total, best=self._best_text())

    def _seed_best(self, study):
        for t in study.get_trials(deepcopy=False):
            self._consider(t)

    def _consider(self, t):
        from optuna.trial import TrialState
        if t.state != TrialState.COMPLETE or not feasible(t):
            return
        if len(self.objectives) == 1:
            v = t.values[0]
            better = self.best is None or (v > self.best[0] if self.objectives[0].direction
                                           == "maximize" else v < self.best[0])
            if better and math.isfinite(v):
                self.best = (v, (t.user_attrs.get("info") or {}).get("flops"))

    def _best_text(self) -> str:
        if len(self.objectives) > 1:
            return f"pareto {self.pareto}"
        if self.best is None:
            return "best -"
        v, flops = self.best
        name = self.objectives[0].name
        if name in ("flops", "params", "macs"):
            return f"best {name} {v / 1e6:,.2f}M"
        shown = f"{v:.4f}" if name == "accuracy" else f"{v:.4g}"
        fl = f" (flops {flops / 1e6:,.1f}M)" if flops else ""
        return f"best {name} {shown}{fl}"

    def callback(self, study, trial):
        self.done += 1
        self._consider(trial)
        if len(self.objectives) > 1:
            try:
                self.pareto = len(study.best_trials)
            except Exception:
                pass
        if self._progress is not None:
            self._progress.update(self.task, advance=1, best=self._best_text())


# ---------------------------------------------------------------------- the run


def _seed_for(cfg: SearchConfig, index: int, study) -> Optional[int]:
    """The sampler's seed: --seed, the space's index and the trials already in the study, so
    that a resumed study does not replay the random start of the first run."""
    if cfg.seed is None:
        return None
    return (cfg.seed + 1000 * index + 7919 * len(study.get_trials(deepcopy=False))) % 2**32


def _optimize_direct(study, objective, trials, timeout, cfg, progress):
    """Trials that train: the storage's own trials, with heartbeats and the pruner."""
    study.optimize(objective, n_trials=trials, timeout=timeout, n_jobs=cfg.n_jobs,
                   callbacks=[progress.callback], gc_after_trial=True, catch=(TrialFailed,))


SYNC_EVERY = 10  # analysis-only searches read other workers' trials every this many trials


def _optimize_in_memory(study, objective, trials, timeout, cfg, progress, objectives, index):
    """Analysis-only trials take milliseconds, far less than the dozen storage transactions
    of an ordinary trial. So they are sampled in an in-memory study that mirrors the stored
    one, and each finished trial is written to the storage in one transaction (a trial is
    never left RUNNING there). Other workers' trials are read back every SYNC_EVERY trials."""
    import optuna
    from optuna.trial import TrialState
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    if waiting:  # enqueued trials run in the storage itself, where they wait
        n = len(waiting) if trials is None else min(len(waiting), trials)
        study.optimize(objective, n_trials=n, timeout=timeout, callbacks=[progress.callback],
                       catch=(TrialFailed,))
        trials = None if trials is None else trials - n
    mem = optuna.create_study(directions=study.directions,
                              sampler=_sampler(objectives, _seed_for(cfg, index, study),
                                               cfg.n_jobs))
    seen: set = set()
    worker = objective.worker

    def sync():
        fresh = []
        for t in study.get_trials(deepcopy=False):
            if t.number in seen or t.state not in (TrialState.COMPLETE, TrialState.PRUNED):
                continue
            seen.add(t.number)
            if (t.user_attrs.get("info") or {}).get("worker") != worker:
                fresh.append(t)
        if fresh:
            mem.add_trials(fresh)

    def store(_mem, frozen):
        if frozen.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
            study.add_trial(frozen)
            progress.callback(study, frozen)

    deadline = None if timeout is None else time.monotonic() + timeout
    done = 0
    while trials is None or done < trials:
        sync()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        batch = SYNC_EVERY if trials is None else min(SYNC_EVERY, trials - done)
        mem.optimize(objective.func, n_trials=batch, timeout=left, n_jobs=cfg.n_jobs,
                     callbacks=[store], catch=(TrialFailed,))
        done += batch


class _Objective:
    def __init__(self, func, worker):
        self.func = func
        self.worker = worker

    def __call__(self, trial):
        return self.func(trial)


def run_search(cfg: SearchConfig) -> SearchResult:
    import uuid
    _quiet_optuna()
    objectives = parse_objectives(cfg.objective)
    spaces = load_spaces(cfg.space_file, cfg.spaces, cfg.defines, cfg.args)
    base = cfg.study or (spaces[0].name if len(spaces) == 1 else
                         "+".join(s.name for s in spaces))
    names = [base] if len(spaces) == 1 else [f"{base}.{s.name}" for s in spaces]
    out = Path(cfg.out or default_out(base))
    storage_url = cfg.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    if cfg.trials is not None and cfg.trials < 0:
        raise ArchError("--trials must be 0 or more")
    if cfg.n_jobs < 1:
        raise ArchError("--n-jobs must be 1 or more")
    prepare_out(out, storage_url, names, cfg.force)
    storage = make_storage(storage_url)
    evaluator = Evaluator(objectives, cfg.settings)
    if cfg.settings.threads is None:
        # One thread per trial: small networks gain little from more, and on a shared
        # machine extra threads mostly wait for one another.
        cfg.settings.threads = 1
    studies = [open_study(storage, n, s, objectives, cfg, i)
               for i, (n, s) in enumerate(zip(names, spaces))]
    if cfg.enqueue:
        from .enqueue import enqueue
        for space, study in zip(spaces, studies):
            for target in cfg.enqueue:
                enqueue(study, space, target)
    trials = cfg.trials if cfg.trials is not None else (None if cfg.timeout else 20)
    result = SearchResult(out=out, storage=storage_url, studies=list(zip(spaces, studies)),
                          objectives=objectives, evaluator=evaluator)
    worker = uuid.uuid4().hex[:12]
    deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
    with _Progress(cfg.progress, objectives, trials) as progress:
        try:
            for index, (space, study) in enumerate(result.studies):
                progress.start_space(f"{study.study_name}", study)
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if trials == 0 or timeout == 0.0:
                    continue
                objective = _Objective(make_objective(space, evaluator, worker), worker)
                if evaluator.needs_torch:
                    study.sampler = _sampler(objectives, _seed_for(cfg, index, study), cfg.n_jobs)
                    _optimize_direct(study, objective, trials, timeout, cfg, progress)
                else:
                    _optimize_in_memory(study, objective, trials, timeout, cfg, progress,
                                        objectives, index)
        except KeyboardInterrupt:
            result.interrupted = True
        result.new_trials = progress.done
    from .report import write_outputs
    result.files = write_outputs(result)
    return result
