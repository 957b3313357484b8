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
from .objectives import Evaluator, parse_objectives
from .train import TrainSettings
from .records import CONSTRAINTS_LIST, constraint_keys, source_slice
from .space import load_spaces
from .writer import add_trials

MARKER = "search.json"  # in --out: which storage and studies the directory's results are from
DEFAULT_DB = "study.db"  # the default storage, inside --out
# Files a search writes into --out (a directory holding any of them without a marker is
# another search's, or the user's), and SQLite's companions of study.db, which SQLite would
# replay or delete when it opens a database beside them.
OUTPUTS = ("best.arch", "trials.csv", "edf.png", "edf.csv", "pareto.png", "pareto.csv",
           "pareto", DEFAULT_DB, MARKER)
SQLITE_COMPANIONS = tuple(DEFAULT_DB + s for s in ("-wal", "-shm", "-journal"))
HEARTBEAT = 10  # seconds between a running trial's heartbeats
GRACE = 60  # a RUNNING trial without a heartbeat for this long is marked FAIL
SEED_LIMIT = 2 ** 32  # Optuna's samplers take seeds in [0, 2^32)
NAME_MAX = 255  # bytes in one path component (Linux, macOS)


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
    sampler: Optional[str] = None  # None: tpe for one objective, nsga2 for several


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
    sampler: str = "tpe"
    notes: list = field(default_factory=list)  # lines for the user (e.g. what an EDF is of)


def quiet_optuna():
    import optuna
    # Errors only: a trial stopped by Ctrl-C would otherwise be logged with its traceback.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    warnings.filterwarnings("ignore", message=".*heartbeat.*")
    warnings.filterwarnings("ignore", message=".*CmaEsSampler will not use them.*")
    # infeasible trials hold -inf/+inf: GP clips them, as it should
    warnings.filterwarnings("ignore", message=".*Clip non-finite values.*")


# ---------------------------------------------------------------------- arguments


def check_config(cfg: SearchConfig) -> None:
    """Arguments that Optuna or the file system would reject later with a traceback (or,
    worse, accept and misread), refused before anything is written."""
    if cfg.trials is not None and cfg.trials < 0:
        raise ArchError("--trials must be 0 or more")
    if cfg.n_jobs < 1:
        raise ArchError("--n-jobs must be 1 or more")
    if cfg.seed is not None and not 0 <= cfg.seed < SEED_LIMIT:
        raise ArchError(f"--seed must be an integer from 0 to {SEED_LIMIT - 1}, got {cfg.seed}")
    if cfg.timeout is not None and not (math.isfinite(cfg.timeout) and cfg.timeout > 0):
        raise ArchError(f"--timeout must be a positive number of seconds, got {cfg.timeout}")
    if cfg.storage is not None:
        check_storage_url(cfg.storage)
    if cfg.study is not None and not cfg.study.strip():
        raise ArchError("--study must not be empty")


def check_storage_url(url: str) -> None:
    """A SQLite URL must name a file: `sqlite://`, `sqlite:///` and `sqlite:///:memory:` are
    in-memory databases, where a study would vanish at exit (and, with several connections,
    in the middle of the search)."""
    try:
        from sqlalchemy.engine import make_url
        parsed = make_url(url)
    except Exception:
        return  # make_storage reports what is wrong with it
    if parsed.drivername.split("+")[0] != "sqlite":
        return
    db = parsed.database
    if not db or db == ":memory:" or db.startswith("file::memory:") or "mode=memory" in url:
        raise ArchError(f"--storage {redact(url)} is an in-memory SQLite database: the study "
                        f"would be lost; name a file (sqlite:///path/study.db), or leave "
                        f"--storage out to use --out's study.db")
    if Path(db).is_dir():
        raise ArchError(f"--storage {redact(url)}: {db} is a directory, not a database file")


def study_directory(name: str) -> str:
    """The default --out of a study: runs/NAME, where NAME must be one plain path component
    (`--study ../../x` or `/abs/x` would otherwise write outside runs/)."""
    bad = (name in (".", "..") or "/" in name or "\\" in name or "\0" in name
           or len(name.encode("utf-8", "surrogateescape")) > NAME_MAX)
    if bad:
        raise ArchError(f"--study {name!r} cannot name a directory under runs/ (it must be one "
                        f"plain name of at most {NAME_MAX} bytes, without '/'); choose another "
                        f"--study, or give --out DIR")
    return str(Path("runs") / name)


# ---------------------------------------------------------------------- --out and storage


def read_marker(out: Path) -> Optional[dict]:
    marker = out / MARKER
    if not marker.exists():
        return None
    try:
        have = json.loads(marker.read_text(encoding="utf-8"))
        return have if isinstance(have, dict) else {}
    except (OSError, ValueError):
        return {}


def _marker_storage(storage: Optional[str], out: Path) -> dict:
    """How the marker names the storage: a SQLite file inside --out (the default study.db,
    or a --storage naming one there) by its path relative to --out, so a copied --out
    resumes where it lands; any other by a digest (its URL may hold a password)."""
    inside = _file_in_out(storage, out)
    if inside is not None:
        return {"storage": inside}
    return {"storage": redact(storage), "storage_sha256": _digest(storage)}


def _file_in_out(storage: Optional[str], out: Path) -> Optional[str]:
    """The SQLite database file of `storage` (None: --out's study.db) relative to --out, as a
    POSIX path, if it lies inside --out; None otherwise."""
    if storage is None:
        return DEFAULT_DB
    try:
        from sqlalchemy.engine import make_url
        parsed = make_url(storage)
    except Exception:
        return None
    if parsed.drivername.split("+")[0] != "sqlite" or not parsed.database:
        return None
    try:
        return Path(parsed.database).resolve().relative_to(out.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _same_storage(have: dict, out: Path, storage: Optional[str]) -> bool:
    inside = _file_in_out(storage, out)
    if inside is not None and "storage_sha256" not in have:
        return have.get("storage") == inside
    if storage is None:
        # markers written before storages were relative: the absolute URL of this study.db
        return have.get("storage_sha256") == _digest(_default_url(out))
    return have.get("storage_sha256") == _digest(storage)


def _default_url(out: Path) -> str:
    return f"sqlite:///{(out / DEFAULT_DB).resolve()}"


def prepare_out(out: Path, storage: Optional[str], studies: list, force: bool) -> dict:
    """Create --out, or accept it when it holds this very search (resume); refuse a directory
    with another search's results, or with SQLite files that are not this search's, unless
    --force. Returns the marker found (the trial counts it recorded), or {}."""
    if out.exists() and not out.is_dir():
        raise ArchError(f"--out {out} is a file, not a directory")
    have = read_marker(out) if out.is_dir() else None
    if out.is_dir() and not force:
        if have is not None:
            if not _same_storage(have, out, storage) or sorted(
                    have.get("studies", [])) != sorted(studies):
                raise ArchError(
                    f"--out {out} holds the results of another search (study "
                    f"{', '.join(have.get('studies', [])) or '?'} in {have.get('storage', '?')}); "
                    f"choose another --out, or pass --force to overwrite its files")
            if storage is None and not (out / DEFAULT_DB).exists():
                strays = [n for n in SQLITE_COMPANIONS if (out / n).exists()]
                if strays:
                    raise ArchError(f"--out {out} holds {strays[0]} but no {DEFAULT_DB}: SQLite "
                                    f"would replay or delete it; move it away, or pass --force")
        else:
            found = [n for n in OUTPUTS + (SQLITE_COMPANIONS if storage is None else ())
                     if (out / n).exists()]
            if found:
                raise ArchError(f"--out {out} holds {found[0]}, which is not from this search; "
                                f"choose another --out, or pass --force to overwrite it")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ArchError(f"cannot create --out {out}: {e.strerror}") from None
    old = have or {}
    write_marker(out, storage, studies, old.get("trials", {}) if not force else {})
    return old


def write_marker(out: Path, storage: Optional[str], studies: list, trials: dict) -> None:
    data = dict(_marker_storage(storage, out), studies=studies, trials=trials)
    try:
        atomic_write(out / MARKER, json.dumps(data, indent=1) + "\n", force=True)
    except OSError as e:
        raise ArchError(f"cannot write into --out {out}: {e.strerror}") from None


def check_nothing_lost(out: Path, old_marker: dict, studies: list, force: bool) -> None:
    """The marker counts the trials each study had when --out's files were last written;
    a storage that holds fewer (study.db emptied, replaced or deleted) would silently start
    over and overwrite trials.csv with less."""
    if force:
        return
    recorded = old_marker.get("trials") or {}
    for study in studies:
        want = recorded.get(study.study_name, 0)
        have = len(study.get_trials(deepcopy=False))
        if isinstance(want, int) and have < want:
            raise ArchError(f"--out {out}: the last search wrote {want} trials of study "
                            f"{study.study_name!r} there, but its storage now holds {have} "
                            f"(was {DEFAULT_DB} emptied or replaced?); restore it, or pass "
                            f"--force to start again and overwrite trials.csv")


def _digest(text: str) -> str:
    import hashlib
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_storage(url: str, attempts: int = 5):
    """An Optuna RDB storage with heartbeats; SQLite waits for locks instead of failing.
    Workers that start together on a fresh database race to create Optuna's tables: the
    loser retries."""
    import optuna
    check_storage_url(url)
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
            # PostgreSQL says "duplicate key", MySQL "already exists", SQLite "UNIQUE
            # constraint failed" (on alembic_version): all the same race, worth a retry.
            if not any(s in str(e) for s in ("duplicate key", "already exists",
                                             "UNIQUE constraint failed")):
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

COMPARED = ("space", "args", "objectives", "space_sha256")  # what makes two studies the same


def _meta(space, objectives, space_file: str, sampler: str) -> dict:
    from ..values import literal
    return {"space": space.name, "file": space_file if space_file.split(":", 1)[0] in
            ("zoo", "search") else str(Path(space_file).resolve()),
            "args": {k: literal(v) for k, v in space.args.items()},
            "objectives": [f"{o.direction[:3]}:{o.name}" for o in objectives],
            "space_sha256": _digest(_space_text(space)), "sampler": sampler,
            "constraints": constraint_keys(space)}


def _space_text(space) -> str:
    try:
        return source_slice(space.defn.span)
    except (OSError, AttributeError, IndexError):
        return space.name


def _same_study(have: Optional[dict], meta: dict) -> bool:
    if have is None:  # another worker created it a moment ago and has not labelled it yet
        return True
    return all(have.get(k) == meta.get(k) for k in COMPARED if k in have or k != "space_sha256")


def open_study(storage, name: str, space, objectives, cfg: SearchConfig, sampler: str):
    import optuna
    from .samplers import default_sampler
    meta = _meta(space, objectives, cfg.space_file, sampler)
    directions = [o.direction for o in objectives]
    try:
        existing = optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        existing = None
    if existing is not None:
        have = existing.user_attrs.get("archdsl")
        same = _same_study(have, meta) and list(existing.directions) == [
            optuna.study.StudyDirection.MAXIMIZE if d == "maximize" else
            optuna.study.StudyDirection.MINIMIZE for d in directions]
        if not same:
            if not cfg.force:
                raise ArchError(f"study {name!r} in this storage was run with other settings "
                                f"({_describe(have)}; now {_describe(meta)}); choose another "
                                f"--study, or pass --force to delete it and start again")
            optuna.delete_study(study_name=name, storage=storage)
        elif have is not None:
            was = have.get("sampler") or default_sampler(objectives)
            if was != sampler:
                if not cfg.force:
                    raise ArchError(f"study {name!r} was run with --sampler {was}; now "
                                    f"--sampler {sampler}: pass --sampler {was}, or --force to "
                                    f"go on with {sampler} (its trials are kept)")
                meta["samplers"] = list(have.get("samplers") or [was]) + [sampler]
                existing.set_user_attr("archdsl", meta)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0) \
        if len(objectives) == 1 and objectives[0].name == "accuracy" else optuna.pruners.NopPruner()
    study = optuna.create_study(storage=storage, study_name=name, directions=directions,
                                pruner=pruner, load_if_exists=True)
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


def make_objective(space, evaluator: Evaluator, worker: str = "", sampler: str = ""):
    """The function Optuna calls per trial. What it records: the user attr `info` (space,
    derived values, flops, params, macs, the build error if any, the worker, the sampler),
    one constraint per `require` and `valid` (Optuna 5's named constraints), and the same
    values as the list `constraints` in the trial's system attrs, which is where
    optuna-dashboard (and Optuna before 5) reads them. Few storage writes: in Optuna's
    ordinary loop each one is a transaction."""
    import optuna
    keys = constraint_keys(space)

    def objective(trial):
        point = space.sample(trial)
        info = {"space": space.name, "derived": point.derived, "worker": worker,
                "sampler": sampler}
        if point.totals is not None:
            info.update({k: point.totals[k] for k in ("flops", "params", "macs")})
        if point.error is not None:
            info["error"] = point.error
        trial.set_user_attr("info", info)
        values = [float(point.constraints.get(k, 0.0)) for k in keys]
        values += [float(v) for k, v in point.constraints.items() if k not in keys]
        for key, value in zip(keys + [k for k in point.constraints if k not in keys], values):
            trial.set_constraint(key, value)
        trial.storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_LIST, values)
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


def _optimize_direct(study, objective, trials, timeout, cfg, progress):
    """Trials in the storage itself, with heartbeats and the pruner: training trials, and
    the samplers whose sequence every worker shares (grid, qmc)."""
    study.optimize(objective, n_trials=trials, timeout=timeout, n_jobs=cfg.n_jobs,
                   callbacks=[progress.callback], gc_after_trial=True, catch=(TrialFailed,))


SYNC_EVERY = 10  # analysis-only searches write their trials, and read other workers', this often


def _optimize_in_memory(study, objective, trials, timeout, cfg, progress):
    """Analysis-only trials take milliseconds, far less than the dozen storage transactions
    of an ordinary trial. So they are sampled in an in-memory study that mirrors the stored
    one; every SYNC_EVERY trials the finished ones are written to the storage in one
    transaction (writer.py; a trial is never left RUNNING there) and other workers' trials
    are read back. Enqueued trials, and the first trial (whose number seeds this worker's sampler), run in
    the storage itself."""
    import optuna
    from optuna.trial import TrialState
    deadline = None if timeout is None else time.monotonic() + timeout

    def left():
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    done = 0
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    from .samplers import WorkerSeeded
    unseeded = isinstance(study.sampler, WorkerSeeded) and study.sampler.inner is None
    n = len(waiting) + (1 if unseeded else 0)
    if trials is not None:
        n = min(n, trials)
    if n:
        study.optimize(objective, n_trials=n, timeout=left(), callbacks=[progress.callback],
                       catch=(TrialFailed,))
        done += n
    sampler = study.sampler
    if isinstance(sampler, WorkerSeeded):
        if sampler.inner is None:  # no first trial ran (a timeout of 0): seed from the count
            sampler.seed_from(len(study.get_trials(deepcopy=False)))
        sampler = sampler.for_memory()
    mem = optuna.create_study(directions=study.directions, sampler=sampler)
    seen: set = set()
    worker = objective.worker

    def sync(initial=False):
        fresh = []
        for t in study.get_trials(deepcopy=False):
            if t.number in seen or t.state not in (TrialState.COMPLETE, TrialState.PRUNED):
                continue
            seen.add(t.number)
            # this worker's in-memory trials are in `mem` already; its stored ones are not
            if initial or (t.user_attrs.get("info") or {}).get("worker") != worker:
                fresh.append(t)
        if fresh:
            mem.add_trials(fresh)

    finished = []  # this batch's trials, written to the storage together (writer.py)

    def store(_mem, frozen):
        if frozen.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
            finished.append(frozen)
            progress.callback(study, frozen)

    def flush():
        batch, finished[:] = list(finished), []
        add_trials(study, batch)

    sync(initial=True)
    try:
        while trials is None or done < trials:
            if left() == 0.0:
                break
            batch = SYNC_EVERY if trials is None else min(SYNC_EVERY, trials - done)
            mem.optimize(objective.func, n_trials=batch, timeout=left(), n_jobs=cfg.n_jobs,
                         callbacks=[store], catch=(TrialFailed,))
            done += batch
            flush()
            sync()
    finally:  # Ctrl-C: the trials finished before it are kept
        flush()


class _Objective:
    def __init__(self, func, worker):
        self.func = func
        self.worker = worker

    def __call__(self, trial):
        return self.func(trial)


def _sampler_for(name, objectives, cfg, index, space):
    """The sampler of one space's study (see samplers.py on seeding)."""
    from .samplers import SHARED_SEQUENCE, WorkerSeeded, grid_space, make_sampler
    if name in SHARED_SEQUENCE:
        seed = None if cfg.seed is None else (cfg.seed + 1000 * index) % 2 ** 32
        grid = grid_space(space) if name == "grid" else None
        return make_sampler(name, objectives, seed, cfg.n_jobs, grid=grid)
    return WorkerSeeded(name, objectives, cfg.seed, index, cfg.n_jobs)


def run_search(cfg: SearchConfig) -> SearchResult:
    import uuid
    from .samplers import SHARED_SEQUENCE, check_sampler, default_sampler
    quiet_optuna()
    check_config(cfg)
    objectives = parse_objectives(cfg.objective)
    sampler_name = check_sampler(cfg.sampler or default_sampler(objectives), objectives)
    spaces = load_spaces(cfg.space_file, cfg.spaces, cfg.defines, cfg.args)
    base = cfg.study or (spaces[0].name if len(spaces) == 1 else
                         "+".join(s.name for s in spaces))
    names = [base] if len(spaces) == 1 else [f"{base}.{s.name}" for s in spaces]
    out = Path(cfg.out) if cfg.out else Path(study_directory(base))
    storage_url = cfg.storage or _default_url(out)
    samplers = [_sampler_for(sampler_name, objectives, cfg, i, s) for i, s in enumerate(spaces)]
    old_marker = prepare_out(out, cfg.storage, names, cfg.force)
    storage = make_storage(storage_url)
    evaluator = Evaluator(objectives, cfg.settings)
    if cfg.settings.threads is None:
        # One thread per trial: small networks gain little from more, and on a shared
        # machine extra threads mostly wait for one another.
        cfg.settings.threads = 1
    studies = [open_study(storage, n, s, objectives, cfg, sampler_name)
               for n, s in zip(names, spaces)]
    check_nothing_lost(out, old_marker, studies, cfg.force)
    if cfg.enqueue:
        from .enqueue import enqueue
        for space, study in zip(spaces, studies):
            for target in cfg.enqueue:
                enqueue(study, space, target)
    trials = cfg.trials if cfg.trials is not None else (
        None if cfg.timeout or sampler_name == "grid" else 20)
    result = SearchResult(out=out, storage=storage_url, studies=list(zip(spaces, studies)),
                          objectives=objectives, evaluator=evaluator, sampler=sampler_name)
    worker = uuid.uuid4().hex[:12]
    deadline = None if cfg.timeout is None else time.monotonic() + cfg.timeout
    direct = evaluator.needs_torch or sampler_name in SHARED_SEQUENCE
    with _Progress(cfg.progress, objectives, trials) as progress:
        try:
            for index, (space, study) in enumerate(result.studies):
                progress.start_space(f"{study.study_name}", study)
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                if trials == 0 or timeout == 0.0:
                    continue
                study.sampler = samplers[index]
                if sampler_name == "grid" and study.sampler.is_exhausted(study):
                    result.notes.append(f"study {study.study_name}: every point of the grid "
                                        f"has been tried")
                    continue
                objective = _Objective(make_objective(space, evaluator, worker, sampler_name),
                                       worker)
                if direct:
                    _optimize_direct(study, objective, trials, timeout, cfg, progress)
                else:
                    _optimize_in_memory(study, objective, trials, timeout, cfg, progress)
        except KeyboardInterrupt:
            result.interrupted = True
        result.new_trials = progress.done
    from .report import write_outputs
    result.files = write_outputs(result)
    write_marker(out, cfg.storage, names, {s.study_name: len(s.get_trials(deepcopy=False))
                                           for _, s in result.studies})
    return result
