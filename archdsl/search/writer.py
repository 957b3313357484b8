"""Writing finished trials into a study's RDB storage in batches.

Optuna's `study.add_trial` costs a transaction and about 25 ORM statements per trial (per
param, a query for the distribution of the study's earlier trials; per attribute, a query
for an existing one): ~13 ms on SQLite, more than sampling and elaborating an analysis-only
trial. An analysis-only search samples in memory (study.py), where Optuna has already checked
every param's distribution against the study's trials, so here a batch of finished trials is
written as rows of Optuna's own tables (its ORM models, so its column types, value encodings
and UTC datetimes) in one transaction: the study row locked as Optuna locks it to number a
trial, the trials inserted, numbered by the count of the study's trials before the first,
then their values, params and attributes in bulk.

A storage that is not Optuna's RDBStorage (or an Optuna whose internals moved) gets
`study.add_trial` per trial, which is always right, only slower.
"""
from __future__ import annotations

import json


def _rdb_backend(study):
    try:
        from optuna.storages import RDBStorage
        from optuna.storages._rdb import models  # noqa: F401  (checked: the writer needs it)
        from optuna.storages._rdb.storage import _create_scoped_session  # noqa: F401
    except ImportError:
        return None
    storage = study._storage
    backend = getattr(storage, "_backend", storage)  # under Optuna's _CachedStorage
    return backend if isinstance(backend, RDBStorage) else None


def add_trials(study, trials: list) -> None:
    """Store finished FrozenTrials in `study`, numbered after its trials, in one transaction."""
    if not trials:
        return
    backend = _rdb_backend(study)
    if backend is None:
        for t in trials:
            study.add_trial(t)
        return
    for t in trials:
        t._validate()
        if t.values is not None and len(t.values) != len(study.directions):
            raise ValueError(f"trial with {len(t.values)} values in a study of "
                             f"{len(study.directions)} objectives")
    _insert(backend, study._study_id, trials)


def _insert(backend, study_id: int, trials: list) -> None:
    from optuna.distributions import distribution_to_json
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session
    from sqlalchemy import func

    with _create_scoped_session(backend.scoped_session) as session:
        # Optuna's lock for numbering a new trial (SELECT ... FOR UPDATE; on SQLite the
        # inserts below take the database's write lock before the count).
        models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
        rows = [models.TrialModel(study_id=study_id, number=None, state=t.state,
                                  datetime_start=t.datetime_start,
                                  datetime_complete=t.datetime_complete) for t in trials]
        session.add_all(rows)
        session.flush()
        first = min(r.trial_id for r in rows)
        before = session.query(func.count(models.TrialModel.trial_id)).filter(
            models.TrialModel.study_id == study_id,
            models.TrialModel.trial_id < first).scalar()
        # ids grow in insertion order, not always by one (a PostgreSQL sequence has gaps)
        rank = {r.trial_id: i for i, r in enumerate(sorted(rows, key=lambda r: r.trial_id))}
        children = []
        for row, t in zip(rows, trials):
            row.number = before + rank[row.trial_id]
            tid = row.trial_id
            for objective, value in enumerate(t.values or ()):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                children.append(models.TrialValueModel(trial_id=tid, objective=objective,
                                                        value=stored, value_type=kind))
            for name, value in t.params.items():
                dist = t.distributions[name]
                children.append(models.TrialParamModel(
                    trial_id=tid, param_name=name, param_value=dist.to_internal_repr(value),
                    distribution_json=distribution_to_json(dist)))
            for key, value in t.user_attrs.items():
                children.append(models.TrialUserAttributeModel(
                    trial_id=tid, key=key, value_json=json.dumps(value)))
            for key, value in t.system_attrs.items():
                children.append(models.TrialSystemAttributeModel(
                    trial_id=tid, key=key, value_json=json.dumps(value)))
            model = models.TrialIntermediateValueModel
            for step, value in t.intermediate_values.items():
                stored, kind = model.intermediate_value_to_stored_repr(value)
                children.append(model(trial_id=tid, step=step, intermediate_value=stored,
                                      intermediate_value_type=kind))
        session.add_all(children)
