"""Search under faults: a worker killed mid-trial, a trial that raises, an --out directory of
another study."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import ROOT, one_error, write


SEARCH_SPACE = """
use "{vgg}"
space tiny(budget=100M) {{
  param w in [4, 8]
  param d in [1, 2]
  require flops <= budget
  network vgg_net([w, 2 * w], [d, 1], 2, size=8)
}}
"""


@pytest.fixture
def space_file(tmp_path):
    pytest.importorskip("optuna")
    return write(tmp_path, "tiny.arch", SEARCH_SPACE.format(vgg=ROOT / "search" / "vgg.arch"))


def _trials(out: Path):
    import optuna
    from archdsl.search.study import make_storage
    storage = make_storage(f"sqlite:///{(out / 'study.db').resolve()}")
    return optuna.load_study(study_name="tiny", storage=storage).get_trials(deepcopy=False)


def test_search_worker_killed_mid_trial_storage_stays_consistent_and_resumes(
        tmp_path, space_file, monkeypatch):
    """SIGKILL a search while a trial trains: the storage still opens, the trial is left
    RUNNING; the next run (same --out) marks it FAIL once its heartbeat is stale, and goes on."""
    pytest.importorskip("torch")
    import optuna
    from archdsl.search import study as study_mod
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # a trial that trains for minutes: 1,000 epochs on a few digits
    proc = subprocess.Popen([sys.executable, "-m", "archdsl", "search", str(space_file),
                             "--objective", "accuracy", "--trials", "3", "--epochs", "1000",
                             "--train-limit", "64", "--out", str(out), "--seed", "0",
                             "--quiet"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 240
        running = []
        while time.time() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if (out / "study.db").exists():
                try:
                    running = [t for t in _trials(out) if t.state.name == "RUNNING"]
                except Exception:  # the database is being created
                    continue
                if running:
                    break
        assert running, proc.stderr.read().decode() if proc.poll() is not None else "timeout"
        time.sleep(1.0)  # well inside the trial's training
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = running[0].number
    before = _trials(out)  # consistent: it opens, and the trial is still RUNNING
    assert [t.state.name for t in before if t.number == killed] == ["RUNNING"]

    # Resume in-process, with short heartbeats so the test need not wait a minute, and a
    # training that returns at once.
    import archdsl.search.train as train_mod
    from archdsl.search.objectives import Evaluator
    monkeypatch.setattr(study_mod, "HEARTBEAT", 1)
    monkeypatch.setattr(study_mod, "GRACE", 2)
    monkeypatch.setattr(train_mod, "train", lambda graph, data, settings, trial=None: (0.5, {}))
    monkeypatch.setattr(Evaluator, "data", lambda self, shape, classes: None)
    time.sleep(2.5)
    from archdsl.search.study import SearchConfig, run_search
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = run_search(SearchConfig(str(space_file), out=str(out), trials=2, seed=0,
                                     objective="accuracy", progress=False))
    after = {t.number: t for _, s in result.studies for t in s.get_trials(deepcopy=False)}
    assert after[killed].state.name == "FAIL"
    assert sum(t.state.name == "COMPLETE" for t in after.values()) >= 2
    assert not [t for t in after.values() if t.state.name == "RUNNING"]
    assert (out / "trials.csv").exists()


def test_search_trial_that_raises_is_recorded_failed_and_the_study_goes_on(
        tmp_path, space_file, monkeypatch):
    import archdsl.search.train as train_mod
    from archdsl.search.objectives import Evaluator
    from archdsl.search.study import SearchConfig, run_search
    calls = []

    def train(graph, data, settings, trial=None):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return 0.5, {}
    monkeypatch.setattr(train_mod, "train", train)
    monkeypatch.setattr(Evaluator, "data", lambda self, shape, classes: None)
    result = run_search(SearchConfig(str(space_file), out=str(tmp_path / "out"), trials=4,
                                     seed=0, objective="accuracy", progress=False))
    trials = [t for _, s in result.studies for t in s.get_trials(deepcopy=False)]
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(trials) == 4 and len(failed) == 1 and len(calls) == 4
    recorded = " ".join(map(str, list(failed[0].user_attrs.values())
                            + list(failed[0].system_attrs.values())))
    assert "out of memory" in recorded


def test_search_out_is_reused_only_by_the_same_study(run_cli, tmp_path, space_file):
    out = tmp_path / "out"
    argv = ["search", space_file, "--trials", "2", "--out", out, "--quiet", "--seed", "0"]
    assert run_cli(*argv)[0] == 0
    assert run_cli(*argv)[0] == 0  # the same study: resumes
    assert len(_trials(out)) == 4
    code, stdout, err = run_cli(*argv, "--study", "other")
    assert "holds the results of another search" in one_error(code, err)
    assert "--force" in err
    code, stdout, err = run_cli(*argv, "--study", "other", "--force")
    assert code == 0, err
