"""Two compiles never share a run directory or a SQLite study file at once: the second is
refused at once with one message naming what is taken, and no raw Optuna exception reaches the
user."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from conftest import slow_toy_evaluator, toy_task
from test_search_pruning import _pool

from pldc import BudgetError, BusyError, PLDError, SettingsError
from pldc.compiler import compile_task
from pldc.data import load_task_data
from pldc.embed import TfidfEmbedder
from pldc.lock import compile_lock
from pldc.search import RandomSearch, search_rules
from pldc.settings import CompileSettings, SearchSettings

TESTS = Path(__file__).resolve().parent
SETTINGS = CompileSettings(token_budget=120, trials=2, seed=0, teacher_examples=6)

TASK_FILE = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from conftest import toy_task
task = toy_task()
"""

# `pldc compile` on the fake models; the student holds its first score until `go` exists, and
# opening a model leaves a `.opened` file beside `started`.
DRIVER = f"""
import sys, time
from pathlib import Path
sys.path.insert(0, {str(TESTS)!r})
from conftest import fake_student_scores, fake_teacher_reply
import pldc.cli, pldc.stages.workspace
from pldc.backends import FunctionBackend
from pldc.embed import TfidfEmbedder

started, go = Path(sys.argv[1]), Path(sys.argv[2])

def waiting_scores(messages, labels):
    started.touch()
    while not go.exists():
        time.sleep(0.05)
    return fake_student_scores(messages, labels)

models = {{
    "fake/teacher": FunctionBackend(generate=fake_teacher_reply, name="fake-teacher"),
    "fake/student": FunctionBackend(score=waiting_scores, name="fake-student"),
}}

def open_model(name, **options):
    started.with_suffix(".opened").touch()
    return models[name]

pldc.cli.open_model = open_model
pldc.stages.workspace.open_embedder = TfidfEmbedder
sys.exit(pldc.cli.main(sys.argv[3:]))
"""


def pldc_compile(tmp_path: Path, name: str, run_dir: Path) -> subprocess.Popen:
    """`pldc compile` of the toy task into `run_dir`, on the fake models, as its own process."""
    driver, task_file = tmp_path / "driver.py", tmp_path / "toy_task.py"
    driver.write_text(DRIVER)
    task_file.write_text(TASK_FILE)
    # provider/model names, which the CLI's model-name check lets through to the fake open_model
    flags = ["--teacher", "fake/teacher", "--student", "fake/student", "--trials", "4"]
    flags += ["--budget", "120", "--teacher-examples", "6", "--run-dir", str(run_dir)]
    flags += ["-o", str(tmp_path / f"{name}.json")]
    markers = [str(tmp_path / f"{name}.started"), str(tmp_path / "go")]
    return subprocess.Popen(
        [sys.executable, str(driver), *markers, "compile", str(task_file), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_second_pldc_compile_on_the_same_run_directory_exits_2_naming_it(tmp_path):
    run_dir = tmp_path / "run"
    first = pldc_compile(tmp_path, "first", run_dir)
    try:
        wait_for(tmp_path / "first.started", first)  # well inside the compile: scoring

        second = pldc_compile(tmp_path, "second", run_dir)
        _, second_err = second.communicate(timeout=120)

        (tmp_path / "go").touch()
        _, first_err = first.communicate(timeout=300)
    finally:
        first.kill()
    assert second.returncode == 2
    assert second_err.strip().splitlines() == [
        f"error: another pldc compile (process {first.pid}) is using the run directory "
        f"{run_dir}; wait for it to finish, or give this compile a run directory of its own "
        "(--run-dir). To run one search in several processes, use --workers N."
    ]
    assert not (tmp_path / "second.opened").exists()  # refused before its models load
    assert not (tmp_path / "second.json").exists()
    assert first.returncode == 0, first_err
    assert (tmp_path / "first.json").exists()


def compile_toy(run_dir, teacher, student, *, settings=SETTINGS, storage=None):
    return compile_task(
        toy_task(),
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=run_dir,
        embedder=TfidfEmbedder(),
        storage=storage,
    )


def test_a_compile_in_a_run_directory_another_holds_is_refused_before_any_model_call(
    tmp_path, teacher, student
):
    run_dir = tmp_path / "run"
    with compile_lock(run_dir, None), pytest.raises(BusyError) as refused:
        compile_toy(run_dir, teacher, student)

    assert f"another pldc compile (process {os.getpid()}) is using the run directory" in str(
        refused.value
    )
    assert str(run_dir) in str(refused.value)
    assert teacher.calls == [] and student.calls == []


def test_a_compile_on_a_sqlite_study_file_another_holds_is_refused_naming_the_storage(
    tmp_path, teacher, student
):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    with compile_lock(tmp_path / "other", storage), pytest.raises(BusyError) as refused:
        compile_toy(tmp_path / "run", teacher, student, storage=storage)

    assert f"is using the study storage {storage};" in str(refused.value)
    assert "--storage" in str(refused.value)
    assert teacher.calls == [] and student.calls == []


def test_a_journal_study_file_is_locked_under_a_name_optuna_does_not_use(
    tmp_path, teacher, student
):
    """Optuna's journal backend locks `<file>.lock` itself; pldc's lock must not be that file,
    or a compile waits on its own lock and Optuna deletes it (found by a fresh user)."""
    storage = f"journal:{tmp_path / 'study.log'}"
    with compile_lock(tmp_path / "other", storage), pytest.raises(BusyError) as refused:
        compile_toy(tmp_path / "run", teacher, student, storage=storage)
    assert f"is using the study storage {storage};" in str(refused.value)

    started = time.perf_counter()
    artifact = compile_toy(tmp_path / "run", teacher, student, storage=storage)
    assert time.perf_counter() - started < 20  # no wait on a lock of its own
    assert len(artifact.provenance.trials) == SETTINGS.trials
    assert (tmp_path / "study.log.pldc-lock").exists()


@pytest.mark.parametrize(
    "storage", ["journal:/nonexistent-pldc/dir/study.log", "journal:", "journal:{tmp}"]
)
def test_a_journal_storage_in_no_folder_is_refused_and_no_folder_is_made(
    tmp_path, teacher, student, storage
):
    storage = storage.format(tmp=tmp_path)
    with pytest.raises(SettingsError, match="storage"):
        compile_toy(tmp_path / "run", teacher, student, storage=storage)
    assert not Path("/nonexistent-pldc").exists()


def test_the_lock_ends_with_the_compile_that_held_it_even_when_it_failed(
    tmp_path, teacher, student
):
    run_dir = tmp_path / "run"
    with pytest.raises(BudgetError):
        compile_toy(run_dir, teacher, student, settings=CompileSettings(token_budget=5))

    artifact = compile_toy(run_dir, teacher, student)

    assert artifact.content_hash
    with compile_lock(run_dir, None):
        pass


class FailingItsOwnTrial(RandomSearch):
    """A strategy under which another process fails the running trial, as a second compile
    on the same study once did (it failed the first's trials as abandoned)."""

    def __init__(self, storage: str, *, seed: int = 0) -> None:
        super().__init__(seed=seed)
        self.storage = storage

    def propose(self, study, trial, space):
        other = optuna.load_study(study_name=study.study_name, storage=self.storage)
        other.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        return super().propose(study, trial, space)


class Broken(RandomSearch):
    def propose(self, study, trial, space):
        raise ValueError("a bug in pldc's own code")


def search_with(strategy, storage):
    task = toy_task()
    data = load_task_data(task, "toy")
    settings = SearchSettings(token_budget=400, trials=3, seed=0)
    return search_rules(
        task.schema,
        _pool(),
        slow_toy_evaluator(0.0),
        data.dev,
        settings,
        strategy=strategy,
        storage=storage,
        study_name="shared",
    )


def test_a_study_changed_under_a_running_search_is_one_pld_error_naming_the_study(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    with pytest.raises(PLDError) as failed:
        search_with(FailingItsOwnTrial(storage), storage)

    assert type(failed.value) is PLDError
    message = str(failed.value)
    assert message.startswith(f"the search study shared in {storage} failed (")
    assert "rerunning the compile alone resumes the study" in message


def test_an_error_of_pldcs_own_code_in_the_search_is_not_disguised_as_a_study_error(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = f"sqlite:///{tmp_path / 'study.db'}"

    with pytest.raises(ValueError, match="a bug in pldc's own code"):
        search_with(Broken(), storage)
