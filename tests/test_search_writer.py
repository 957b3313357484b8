"""search/writer.py writes a batch of finished trials in one transaction: what Optuna reads
back must be what Optuna's own `study.add_trial` stores (the reference, run side by side on
the same trials): numbers, states, values (infinite ones too), params with their
distributions, user and system attrs (the constraints optuna-dashboard reads), intermediate
values, datetimes; on SQLite and PostgreSQL; and workers writing batches into one study at
once get distinct, gapless numbers, as Optuna numbers trials."""
from __future__ import annotations

import math
import multiprocessing
import sys
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from archdsl.search.study import make_storage, quiet_optuna
from archdsl.search.writer import add_trials

sys.path.insert(0, str(Path(__file__).parent))
from test_search import postgres  # noqa: E402,F401  (the throwaway PostgreSQL server)


def _trials(directions: int = 1) -> list:
    out = []
    dists = {"w": CategoricalDistribution([8, 16, "x", None]), "d": IntDistribution(1, 5),
             "lr": FloatDistribution(1e-4, 1.0, log=True)}
    for i in range(23):
        params = {"w": [8, 16, "x", None][i % 4], "d": 1 + i % 5, "lr": 10 ** -(i % 4)}
        state = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)[i % 3]
        value = (float(i * 1000), -math.inf, math.inf)[(i // 3) % 3] \
            if state == TrialState.COMPLETE else None
        values = None if value is None else [value] * directions
        t = create_trial(state=state, values=values, params=params, distributions=dists,
                         user_attrs={"info": {"space": "s", "flops": i, "derived": [1, 2.5]}},
                         system_attrs={"constraints:flops <= budget": i / 10 - 1,
                                       "constraints": [i / 10 - 1]},
                         intermediate_values={0: 0.5, 1: -math.inf} if state ==
                         TrialState.PRUNED else {})
        out.append(t)
    return out


def _read(t):
    return (t.number, t.state, t.values, t.params, t.distributions, t.user_attrs,
            t.system_attrs, t.intermediate_values, t.datetime_start, t.datetime_complete,
            t.constraints)


def _same_as_optuna(url_a, url_b, directions):
    quiet_optuna()
    dirs = ["maximize"] * directions
    ref = optuna.create_study(storage=make_storage(url_a), study_name="ref", directions=dirs)
    mine = optuna.create_study(storage=make_storage(url_b), study_name="mine", directions=dirs)
    trials = _trials(directions)
    for t in trials:
        ref.add_trial(t)
    for i in range(0, len(trials), 10):
        add_trials(mine, trials[i:i + 10])
    # a fresh storage object: nothing from a cache
    again = optuna.load_study(study_name="mine", storage=url_b)
    assert [_read(t) for t in again.get_trials()] == [_read(t) for t in ref.get_trials()]
    assert len(again.trials) == 23
    if directions == 1:
        assert again.best_trial.number == ref.best_trial.number


@pytest.mark.parametrize("directions", [1, 2])
def test_batches_read_back_as_optunas_own_add_trial_sqlite(tmp_path, directions):
    _same_as_optuna(f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db", directions)


def test_batches_read_back_as_optunas_own_add_trial_postgres(postgres):  # noqa: F811
    _same_as_optuna(postgres, postgres, 1)


def _worker(url, seed):
    quiet_optuna()
    study = optuna.load_study(study_name="shared", storage=make_storage(url))
    trials = _trials()
    for i in range(6):
        batch = trials[(i * 4 + seed) % 19:(i * 4 + seed) % 19 + 4]
        add_trials(study, [create_trial(state=t.state, values=t.values, params=t.params,
                                        distributions=t.distributions,
                                        user_attrs={"worker": seed}) for t in batch])


def test_workers_writing_batches_at_once_get_distinct_numbers(tmp_path):
    url = f"sqlite:///{tmp_path}/shared.db"
    optuna.create_study(storage=make_storage(url), study_name="shared", direction="maximize")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, s)) for s in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    trials = optuna.load_study(study_name="shared", storage=url).get_trials()
    assert len(trials) == 3 * 6 * 4
    assert sorted(t.number for t in trials) == list(range(72))
    # numbers in the order of the rows, as Optuna numbers a trial (its earlier trials)
    by_id = sorted(trials, key=lambda t: t._trial_id)
    assert [t.number for t in by_id] == list(range(72))
