"""Two search workers against one Optuna storage run exactly the trials asked for, once each."""

from __future__ import annotations

import os
import uuid
from functools import partial
from pathlib import Path

import optuna
import pytest
from conftest import slow_toy_evaluator, toy_task
from test_search_pruning import _pool

from pldc.data import load_task_data
from pldc.search import open_study, search_rules
from pldc.settings import SearchSettings

TRIALS = 10


@pytest.fixture(params=["sqlite", "journal", "postgresql"])
def storage(request, tmp_path) -> str:
    """Each storage `--storage` accepts: SQLite, Optuna's journal file, and a real PostgreSQL
    server (a fresh database per test)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'study.db'}"
    if request.param == "journal":
        return f"journal:{tmp_path / 'study.log'}"
    import sqlalchemy

    server = request.getfixturevalue("postgres_url")
    database = f"study_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(server, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {database}"))
    engine.dispose()
    return server.rsplit("/", 1)[0] + f"/{database}"


def test_two_workers_share_one_study_with_no_lost_or_duplicated_trial(storage):
    task = toy_task()
    data = load_task_data(task, "toy")
    settings = SearchSettings(token_budget=400, trials=TRIALS, seed=0, workers=2)
    # Slow enough (about 1.5 s a trial) that the spawned worker starts before the study ends.
    open_evaluator = partial(slow_toy_evaluator, 0.1)
    result = search_rules(
        task.schema,
        _pool(),
        open_evaluator(),
        data.dev,
        settings,
        storage=storage,
        study_name="shared",
        open_worker_evaluator=open_evaluator,
    )

    study = open_study(settings, storage, "shared", len(data.dev))
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(finished) == TRIALS
    assert sorted(t.number for t in result.trials) == sorted(t.number for t in finished)
    assert len({t.number for t in finished}) == TRIALS
    assert {t.user_attrs["worker"] for t in finished} == {0, 1}  # both workers ran trials
    leftovers = [t for t in study.trials if t.state != optuna.trial.TrialState.COMPLETE]
    # A worker that finds every slot taken records one empty, failed ask and stops.
    assert all(t.user_attrs.get("over_quota") for t in leftovers)
    assert all(t.state == optuna.trial.TrialState.FAIL for t in leftovers)


@pytest.mark.parametrize("trials", [2, 4])
def test_one_worker_leaves_no_failed_or_waiting_trial_in_the_study(tmp_path, trials):
    """optuna-dashboard shows what ran: the search stops when its slots are taken, before it
    asks for a trial it could not run, and enqueues no more openers than it has trials."""
    task = toy_task()
    data = load_task_data(task, "toy")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = SearchSettings(token_budget=400, trials=trials, seed=0)
    search_rules(
        task.schema,
        _pool(),
        slow_toy_evaluator(0.0),
        data.dev,
        settings,
        storage=storage,
        study_name="alone",
    )

    states = [t.state for t in open_study(settings, storage, "alone", len(data.dev)).trials]
    assert len(states) == trials
    assert set(states) <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}


def test_a_worker_joining_a_finished_study_runs_nothing(tmp_path):
    task = toy_task()
    data = load_task_data(task, "toy")
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    settings = SearchSettings(token_budget=400, trials=4, seed=0)
    evaluator = slow_toy_evaluator(0.0)
    search_rules(task.schema, _pool(), evaluator, data.dev, settings, storage=storage)
    calls = evaluator.student_calls
    again = search_rules(task.schema, _pool(), evaluator, data.dev, settings, storage=storage)
    assert evaluator.student_calls == calls
    assert len(again.trials) == 4


def test_compile_with_two_workers_records_exactly_the_trials_asked_for(tmp_path, teacher):
    from pldc.compiler import compile_task
    from pldc.embed import TfidfEmbedder
    from pldc.settings import CompileSettings

    settings = CompileSettings(token_budget=160, trials=6, teacher_examples=9, workers=2)
    artifact = compile_task(
        toy_task(),
        teacher=teacher,
        student=slow_toy_evaluator(0.05).student,
        settings=settings,
        run_dir=tmp_path / "run",
        embedder=TfidfEmbedder(),
        open_worker_evaluator=partial(slow_toy_evaluator, 0.05),
    )
    assert sorted(t.number for t in artifact.provenance.trials) == sorted(
        {t.number for t in artifact.provenance.trials}
    )
    assert len(artifact.provenance.trials) == 6
    assert "2 workers" in artifact.provenance.sampler


def test_a_storage_url_that_cannot_be_opened_is_named_with_the_fix(tmp_path):
    import pytest

    from pldc import SettingsError

    task = toy_task()
    data = load_task_data(task, "toy")
    settings = SearchSettings(token_budget=400, trials=2)
    with pytest.raises(SettingsError, match=r"--storage nosuchdb://x: .*postgresql://"):
        search_rules(
            task.schema,
            _pool(),
            slow_toy_evaluator(0.0),
            data.dev,
            settings,
            storage="nosuchdb://x",
        )


def threads_recording_evaluator(folder: Path):
    """The slow toy evaluator, after noting the threads a model opened here would run on."""
    from pldc.backends import model_threads

    (folder / f"opened-{os.getpid()}").write_text(str(model_threads()))
    return slow_toy_evaluator(0.05)


def test_every_worker_opens_its_student_on_its_share_of_the_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("PLDC_THREADS", "4")  # spawned workers inherit the environment
    task = toy_task()
    data = load_task_data(task, "toy")
    settings = SearchSettings(token_budget=400, trials=4, seed=0, workers=2)
    opened = tmp_path / "opened"
    opened.mkdir()
    search_rules(
        task.schema,
        _pool(),
        slow_toy_evaluator(0.0),
        data.dev,
        settings,
        storage=f"sqlite:///{tmp_path / 'study.db'}",
        open_worker_evaluator=partial(threads_recording_evaluator, opened),
    )
    # This process and the spawned worker each open a student on 4 // 2 threads.
    assert sorted(int(f.read_text()) for f in opened.iterdir()) == [2, 2]
