"""`archdsl search SPACE_FILE ...`: search the design spaces of a file with Optuna under the
budgets its `require`s state; see archdsl/search/ and the README's search section."""
from __future__ import annotations

import sys

from ..errors import ArchError
from .common import add_defines, seed_below


def _positive_float(text: str) -> float:
    import argparse
    import math
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return v


def _seed(text: str) -> int:
    from ..search.study import SEED_LIMIT
    return seed_below(SEED_LIMIT, str(SEED_LIMIT - 1))(text)


def add_parser(sub):
    p = sub.add_parser(
        "search", help="search a design space with Optuna under a FLOP budget",
        description="Search the design space(s) of SPACE_FILE: every trial is elaborated and "
        "analysed first (no torch); trials that break a `require` (the budget) complete at "
        "once as infeasible and are never trained. Writes best.arch, trials.csv, edf.png "
        "(and pareto.png for several objectives) into --out; running again with the same "
        "--storage and --study resumes.",
        epilog="Objectives: flops, params, macs (analysis; maximised alone, minimised next to "
        "a quality objective), proxy (NASWOT and synflow on one batch), naswot, synflow, "
        "accuracy (short training on scikit-learn's digits, or --data). Prefix max: or min: "
        "to set a direction. Example: archdsl search search/resnext.arch --objective flops "
        "--budget 100M --trials 50")
    p.add_argument("space_file", metavar="SPACE_FILE")
    p.add_argument("--space", metavar="N", help="the space to search; a,b searches several "
                   "(one study each in one storage, named STUDY.a and STUDY.b, compared in "
                   "edf.png and edf.csv); all: every space of the file")
    p.add_argument("--trials", type=int, metavar="T",
                   help="trials to run now, per space (default 20; with --timeout, unlimited)")
    p.add_argument("--timeout", type=_positive_float, metavar="S", help="stop after S seconds")
    p.add_argument("--objective", default="flops", metavar="O",
                   help="objective, or several separated by commas (NSGA-II); default flops")
    p.add_argument("--budget", metavar="B", help="bind the space's `budget` argument "
                   "(e.g. 300M, 4.1G)")
    add_defines(p, "bind a space argument (an expression), e.g. -D size=224 -D classes=1000")
    p.add_argument("--storage", metavar="URL", help="an Optuna RDB storage URL (default: "
                   "sqlite:///OUT/study.db); e.g. postgresql://user@host/db for several workers")
    p.add_argument("--study", metavar="S", help="study name (default: the space's name; "
                   "with several spaces the prefix of their studies, default a+b)")
    p.add_argument("--out", metavar="DIR", help="output directory (default runs/STUDY)")
    p.add_argument("--seed", type=_seed, default=None, metavar="S",
                   help="sampler and training seed, 0 to 2**32-1 (workers sharing a study "
                   "with one seed still draw different trials)")
    p.add_argument("--sampler", default=None, metavar="NAME",
                   help="Optuna's sampler: tpe, random, qmc, cmaes, gp, grid or nsga2 (default "
                   "tpe; nsga2 for several objectives); random gives the uniform samples whose "
                   "EDFs compare design spaces")
    p.add_argument("--n-jobs", type=int, default=1, metavar="J", help="parallel trials "
                   "(threads) in this process")
    p.add_argument("--enqueue", action="append", default=[], metavar="zoo:NAME",
                   help="seed the study with this network (zoo:NAME or a FILE), found as a "
                   "point of the space; or with the point NAME=VALUE,... given by its params "
                   "(e.g. depth=22,w0=24,wa=24.48,wm=2.54,group_width=16)")
    p.add_argument("--data", metavar="DIR", help="training data for accuracy and proxies: an "
                   "image folder (one subdirectory per class) or CIFAR-10's python batches "
                   "(validation held out of the training batches); default scikit-learn's "
                   "digits")
    p.add_argument("--test", action="store_true", help="also report each trained network's "
                   "accuracy on CIFAR-10's test_batch (never used to choose)")
    p.add_argument("--augment", choices=("auto", "none", "crop", "flip", "crop+flip"),
                   default="auto", help="training augmentation: random crop (padding 4) and/or "
                   "horizontal flip; auto: crop+flip for CIFAR-10 and image folders, none for "
                   "the digits (flipping a digit changes it)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (cuda: mixed precision and "
                   "channels_last); default cpu")
    p.add_argument("--epochs", type=int, default=3, metavar="E", help="training epochs per "
                   "trial for accuracy (default 3)")
    p.add_argument("--batch-size", type=int, default=64, metavar="B")
    p.add_argument("--lr", type=float, default=2e-3, help="AdamW learning rate (default 2e-3)")
    p.add_argument("--train-limit", type=int, default=None, metavar="N",
                   help="train on at most N images per epoch")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch threads per trial (default 1)")
    p.add_argument("--force", action="store_true", help="overwrite another search's results "
                   "in --out; delete a same-named study run with other settings")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def config_from_args(args):
    import math
    from ..syntax import parse_number
    from ..search.train import TrainSettings
    from ..search.study import SearchConfig
    extra = {}
    if args.budget is not None:
        try:
            extra["budget"] = parse_number(args.budget.strip())
        except Exception:
            raise ArchError(f"--budget expects a number such as 300M or 4.1G, "
                            f"got {args.budget!r}") from None
    if args.epochs < 1:
        raise ArchError("--epochs must be 1 or more")
    if args.threads < 1:
        raise ArchError("--threads must be 1 or more")
    if args.batch_size < 1:
        raise ArchError("--batch-size must be 1 or more")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ArchError(f"--lr must be a positive number, got {args.lr}")
    if args.train_limit is not None and args.train_limit < 1:
        raise ArchError("--train-limit must be 1 or more")
    if args.device not in ("cpu", "cuda"):
        raise ArchError(f"--device must be cpu or cuda, got {args.device!r}")
    settings = TrainSettings(data=args.data, epochs=args.epochs, batch_size=args.batch_size,
                             lr=args.lr, train_limit=args.train_limit, threads=args.threads,
                             seed=args.seed if args.seed is not None else 0,
                             device=args.device, augment=args.augment, test=args.test)
    spaces = [s.strip() for s in args.space.split(",") if s.strip()] if args.space else None
    return SearchConfig(space_file=args.space_file, spaces=spaces, defines=args.defines,
                        args=extra, objective=args.objective, trials=args.trials,
                        timeout=args.timeout, storage=args.storage, study=args.study,
                        out=args.out, seed=args.seed, n_jobs=args.n_jobs, enqueue=args.enqueue,
                        force=args.force, progress=not args.quiet and sys.stderr.isatty(),
                        settings=settings, sampler=args.sampler)


def _num(v) -> str:
    if float(v).is_integer() and abs(v) >= 1e4:
        return f"{int(v):,}"
    return f"{v:.4g}"


def dashboard_line(storage: str) -> str:
    """How to open the study in optuna-dashboard: a command that works as printed (quoted
    for the shell), or what is missing for it."""
    import importlib.util
    import shlex
    from ..search.study import redact
    shown = redact(storage)
    command = f"optuna-dashboard {shlex.quote(shown)}"
    if shown != storage:
        command += "   (put the password back in place of ***)"
    if importlib.util.find_spec("optuna_dashboard") is None:
        return f"dashboard: pip install optuna-dashboard, then: {command}"
    return f"dashboard: {command}"


def run(args) -> int:
    from ..search.report import best_item
    from ..search.study import run_search
    result = run_search(config_from_args(args))
    out = sys.stdout
    from ..search.report import info, is_complete, is_feasible
    for space, study in result.studies:
        trials = study.get_trials(deepcopy=False)
        done = sum(1 for t in trials if is_complete(t))
        ok = sum(1 for t in trials if is_complete(t) and is_feasible(t))
        out.write(f"study {study.study_name}: {len(trials)} trials ({done} complete, {ok} "
                  f"feasible)\n")
    best = best_item(result)
    if best is None:
        trials = [t for _, s in result.studies for t in s.get_trials(deepcopy=False)
                  if is_complete(t)]
        errors = [info(t)["error"] for t in trials if info(t).get("error")]
        if trials and len(errors) == len(trials):
            raise ArchError(f"no trial could be built; the first error:\n{errors[0]}")
        out.write("no feasible trial yet\n")
    else:
        space, study, trial = best
        vals = ", ".join(f"{o.name} {_num(v)}" for o, v in zip(result.objectives, trial.values))
        params = ", ".join(f"{k}={v}" for k, v in trial.params.items())
        out.write(f"best: trial {trial.number} of {study.study_name}: {vals} "
                  f"(flops {info(trial).get('flops', 0):,}, "
                  f"params {info(trial).get('params', 0):,}); {params}\n")
    for f in result.files:
        out.write(f"wrote {f}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")
    out.write(dashboard_line(result.storage) + "\n")
    if result.interrupted:
        out.write(f"interrupted: {result.new_trials} new trial(s) kept; run the same command "
                  f"again to resume\n")
        return 130
    return 0
