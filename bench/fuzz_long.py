"""The long fuzz run: `archdsl check` on 100,000 Hypothesis cases, 0 unexpected exceptions.

    python3 bench/fuzz_long.py                        # 100,000 cases, 2 processes
    python3 bench/fuzz_long.py --cases 2000 --jobs 1  # a short run
    python3 bench/fuzz_long.py --time-limit 3600      # stop after an hour, report what ran

It runs the strategies of tests/test_fuzz.py (mutated zoo, standard-library and search files,
generated programs, generated programs mutated) in-process through `archdsl.cli.main`, the
same contract as the test suite: exit 0, or exit 1 with a located `FILE:LINE:COL: error:`.
Anything else is a bug: an exception out of `main`, another exit code, a traceback, an
unlocated message, or a case that runs longer than --case-timeout seconds. Bugs are saved
under --out (the case's text and the traceback) and counted; the exit code is 1 if any.

Each process runs chunks of 1,000 cases, each chunk a Hypothesis run with its own seed (so
the seeds of a run are `--seed + 1000 * process + chunk`, and a chunk can be replayed).
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

CHUNK = 1000


class CaseTimeout(BaseException):
    """Raised by SIGALRM inside a case that runs too long (a BaseException, so that no
    `except Exception` in the code under test swallows it)."""


def _alarm(signum, frame):
    raise CaseTimeout()


def worker(index: int, cases: int, seed: int, deadline: float, case_timeout: float,
           out: str) -> dict:
    import test_fuzz as T
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    signal.signal(signal.SIGALRM, _alarm)
    sandbox = T.Sandbox(tempfile.mkdtemp(prefix=f"fuzz_long{index}_"))
    generated = sandbox.root / "generated.arch"
    counts, kinds = Counter(), Counter()
    slowest = [0.0, ""]
    bugs = []

    @st.composite
    def any_case(draw):
        kind = draw(st.sampled_from(("mutated", "mutated", "generated", "generated_mutated")))
        if kind == "mutated":
            return (kind,) + draw(T.mutated_case())
        text = draw(T.program())
        if kind == "generated_mutated":
            for _ in range(draw(st.integers(1, 3))):
                text = draw(st.one_of(T.char_mutation(text), T.token_mutation(text)))
        return kind, None, text, None

    def run_one(case):
        kind, rel, data, check = case
        kinds[kind] += 1
        started = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, case_timeout)
        try:
            if rel is not None:
                with sandbox.case(rel, data):
                    paths = [sandbox.path(r) for r in check]
                    code, out_, err = T.run_check(paths)
                text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
                texts = {sandbox.path(rel): text}
            else:
                generated.write_text(data, encoding="utf-8")
                if kind == "generated":
                    T.syntax.parse(data, str(generated))  # generator output must parse
                code, out_, err = T.run_check([generated])
                texts = {str(generated): data}
            signal.setitimer(signal.ITIMER_REAL, 0)
            T.assert_clean(code, out_, err, texts)
            counts["ok" if code == 0 else "user error"] += 1
        except CaseTimeout:
            counts["bug: slower than the case timeout"] += 1
            bugs.append(_save(out, index, len(bugs), case, "timeout"))
        except BaseException as e:  # noqa: BLE001 - every other exception is what we hunt
            signal.setitimer(signal.ITIMER_REAL, 0)
            if isinstance(e, KeyboardInterrupt):
                raise
            counts[f"bug: {type(e).__name__}"] += 1
            bugs.append(_save(out, index, len(bugs), case, traceback.format_exc()))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        took = time.perf_counter() - started
        if took > slowest[0]:
            slowest[:] = [took, f"{kind} {rel or ''}".strip()]

    done = 0
    chunk = 0
    while done < cases and time.time() < deadline:
        n = min(CHUNK, cases - done)
        ran = []

        @hseed(seed + 1000 * index + chunk)
        @settings(max_examples=n, deadline=None, database=None, derandomize=False,
                  suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
        @given(case=any_case())
        def chunk_run(case):
            if time.time() >= deadline:
                return
            ran.append(1)
            run_one(case)

        chunk_run()
        done += len(ran)
        chunk += 1
        n_bugs = sum(v for k, v in counts.items() if k.startswith("bug"))
        print(f"[process {index}] {done:,}/{cases:,} cases, {n_bugs} bugs, "
              f"{deadline - time.time():,.0f} s left of the time limit", file=sys.stderr,
              flush=True)
    return {"cases": done, "counts": dict(counts), "kinds": dict(kinds), "bugs": bugs,
            "slowest": slowest}


def _save(out: str, index: int, k: int, case, trace: str) -> str:
    kind, rel, data, check = case
    d = Path(out) / "bugs"
    d.mkdir(parents=True, exist_ok=True)
    stem = d / f"w{index}_{k}"
    if isinstance(data, bytes):
        stem.with_suffix(".arch").write_bytes(data)
    else:
        stem.with_suffix(".arch").write_text(data, encoding="utf-8")
    stem.with_suffix(".json").write_text(json.dumps(
        {"kind": kind, "mutated": rel, "checked": check, "trace": trace}, indent=1))
    return str(stem)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--time-limit", type=float, default=4 * 3600, metavar="S",
                    help="stop starting cases after S seconds (default 4 h)")
    ap.add_argument("--case-timeout", type=float, default=60, metavar="S",
                    help="a case running longer is a bug (default 60 s)")
    ap.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "archdsl_fuzz_long"))
    args = ap.parse_args(argv)

    started = time.time()
    deadline = started + args.time_limit
    shares = [args.cases // args.jobs + (k < args.cases % args.jobs) for k in range(args.jobs)]
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(worker, k, n, args.seed, deadline, args.case_timeout, args.out)
                   for k, n in enumerate(shares)]
        results = [f.result() for f in futures]
    wall = time.time() - started

    cases = sum(r["cases"] for r in results)
    counts, kinds = Counter(), Counter()
    for r in results:
        counts.update(r["counts"])
        kinds.update(r["kinds"])
    bugs = [b for r in results for b in r["bugs"]]
    slowest = max((r["slowest"] for r in results), key=lambda s: s[0])
    n_bugs = sum(v for k, v in counts.items() if k.startswith("bug"))
    rows = [("cases", f"{cases:,}"), ("processes", str(args.jobs)),
            ("wall time", f"{wall:,.0f} s ({wall / 60:.1f} min)"),
            ("cases per second", f"{cases / wall:,.1f}"),
            *((f"  {k}", f"{v:,}") for k, v in sorted(kinds.items())),
            ("exit 0 (ok)", f"{counts['ok']:,}"),
            ("exit 1, located user error", f"{counts['user error']:,}"),
            ("unexpected (bugs)", f"{n_bugs:,}"),
            *((f"  {k}", f"{v:,}") for k, v in sorted(counts.items()) if k.startswith("bug")),
            ("slowest case", f"{slowest[0]:.2f} s ({slowest[1]})")]
    width = max(len(k) for k, _ in rows)
    print("\n".join(f"{k:<{width}}  {v}" for k, v in rows))
    summary = {"cases": cases, "jobs": args.jobs, "wall_seconds": round(wall, 1),
               "counts": dict(counts), "kinds": dict(kinds), "bugs": bugs,
               "slowest": slowest, "seed": args.seed}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "summary.json").write_text(json.dumps(summary, indent=1))
    if bugs:
        print(f"bugs saved under {args.out}/bugs/")
    return 1 if n_bugs else 0


if __name__ == "__main__":
    sys.exit(main())
