"""Specification tests for pldc/preflight.py: what a compile checks before its teacher runs.

The student here counts words and marks as tokens (FunctionBackend) and declares a small
context, so which examples fit is plain to see.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import dspy
import pytest

from pldc import (
    BudgetError,
    CompileSettings,
    DataError,
    DataWarning,
    SettingsError,
    Splits,
    Task,
    compile_task,
)
from pldc.backends import FunctionBackend
from pldc.data import load_task_data
from pldc.preflight import TRUNCATION_MARK, check_before_models, check_storage_url, fit_to_student
from pldc.render import render_messages, render_user_template

SOURCE = "claims_task.py"


class ClaimReview(dspy.Signature):
    """Decide what happens to an expense claim."""

    claim: str = dspy.InputField()
    note: str = dspy.InputField()
    decision: Literal["approve", "reject"] = dspy.OutputField()


class SmallContextStudent(FunctionBackend):
    """A fake student whose context holds `context_window` words and marks."""

    def __init__(self, context_window: int) -> None:
        super().__init__(score=lambda messages, labels: dict.fromkeys(labels, 0.0))
        self.context_window = context_window


def records(long_ids: dict[str, int] | None = None) -> list[dict[str, str]]:
    """20 short claims; the claims of `long_ids` hold that many words instead."""
    long_ids = long_ids or {}
    rows = []
    for i in range(20):
        claim_id = f"c{i:02d}"
        words = long_ids.get(claim_id, 3)
        rows.append(
            {
                "id": claim_id,
                "claim": claim_id + " " + " ".join(f"w{n}" for n in range(words)),
                "note": "filed late",
                "decision": ("approve", "reject")[i % 2],
            }
        )
    return rows


def task_with(rows, **fields) -> Task:
    return Task(ClaimReview, data=rows, splits=Splits(0.5, 0.25, 0.25), **fields)


def fitted(task: Task, context_window: int = 200, token_budget: int = 60):
    data = load_task_data(task, SOURCE)
    return data, fit_to_student(
        task, data, SmallContextStudent(context_window), token_budget, SOURCE
    )


def split_of(data, example_id: str) -> str:
    return next(s for s in ("train", "dev", "test") for ex in data.split(s) if ex.id == example_id)


def test_examples_that_fit_the_context_are_returned_unchanged():
    data, checked = fitted(task_with(records()))

    assert checked == data
    assert checked.fingerprint == data.fingerprint


def test_examples_beyond_the_students_context_are_refused_by_id_split_and_field():
    task = task_with(records({"c03": 400, "c08": 300}))
    data = load_task_data(task, SOURCE)

    with pytest.raises(DataError) as error:
        fit_to_student(task, data, SmallContextStudent(200), 60, SOURCE)

    message = str(error.value)
    assert "2 example(s) do not fit the student's context of 200 tokens" in message
    assert f"'c03' ({split_of(data, 'c03')}, field 'claim', " in message
    assert f"'c08' ({split_of(data, 'c08')}, field 'claim', " in message
    assert "60-token system prompt (--budget)" in message
    assert "Set Task(truncate=['claim']) to cut the field to fit" in message
    assert "or drop these examples from the data" in message


def test_the_check_counts_the_budget_so_a_lower_budget_lets_an_example_fit():
    task = task_with(records({"c03": 120}))

    with pytest.raises(DataError, match="'c03'"):
        fitted(task, context_window=200, token_budget=90)
    fitted(task, context_window=200, token_budget=30)


def test_truncate_cuts_the_named_field_to_fit_and_reports_the_examples():
    task = task_with(records({"c03": 400}), truncate=["claim"])
    student = SmallContextStudent(200)
    data = load_task_data(task, SOURCE)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        checked = fit_to_student(task, data, student, 60, SOURCE)

    cut = next(ex for ex in checked.split(split_of(data, "c03")) if ex.id == "c03")
    assert cut.inputs["claim"].startswith("c03 w0 w1 w2")
    assert cut.inputs["claim"].endswith(TRUNCATION_MARK)
    assert cut.inputs["note"] == "filed late"
    user = render_messages("", render_user_template(task.schema), cut.inputs)
    needed = 60 + student.prompt_tokens(user) + student.count_tokens("approve reject")
    assert 195 <= needed <= 200  # as long as fits, not shorter than need be
    reports = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    assert reports == [
        f"{SOURCE}: cut field(s) 'claim' of 1 example(s) to fit the student's context of 200 "
        "tokens (Task(truncate=...)): 'c03'."
    ]
    others = [ex for s in ("train", "dev", "test") for ex in checked.split(s) if ex.id != "c03"]
    assert all(ex.inputs["claim"] == f"{ex.id} w0 w1 w2" for ex in others)


def test_an_example_that_fits_even_cut_to_nothing_names_the_other_fixes():
    rows = records()
    rows[4]["note"] = " ".join(["late"] * 400)
    task = task_with(rows, truncate=["claim"])

    with pytest.raises(DataError) as error:
        fitted(task)

    message = str(error.value)
    assert "'c04'" in message and "field 'note'" in message
    assert "Set Task(truncate=['note'])" in message


def test_truncating_every_field_that_is_too_long_is_not_enough_when_cut_to_the_mark():
    task = task_with(records({"c05": 400}), truncate=["claim"])

    with pytest.raises(
        DataError, match="Even with Task\\(truncate=\\['claim'\\]\\) cut to nothing"
    ):
        fitted(task, context_window=65, token_budget=60)


def test_a_budget_that_fills_the_context_is_refused_naming_the_budget():
    with pytest.raises(BudgetError, match="--budget 200 tokens leaves no room"):
        fitted(task_with(records()), context_window=200, token_budget=200)


def test_a_student_of_unknown_context_is_not_checked():
    task = task_with(records({"c03": 5000}))
    data = load_task_data(task, SOURCE)
    student = FunctionBackend(score=lambda messages, labels: dict.fromkeys(labels, 0.0))

    assert student.context_window is None
    assert fit_to_student(task, data, student, 60, SOURCE) == data


def test_a_budget_below_the_prompt_scaffold_is_refused_first():
    with pytest.raises(BudgetError, match="cannot hold the prompt scaffold"):
        fitted(task_with(records({"c03": 400})), token_budget=5)


def test_compile_refuses_an_example_beyond_the_context_before_the_teacher_runs(tmp_path):
    def no_teacher(messages):
        raise AssertionError("the teacher ran before the inputs were checked")

    with pytest.raises(DataError, match="'c03'"):
        compile_task(
            task_with(records({"c03": 400})),
            teacher=FunctionBackend(generate=no_teacher),
            student=SmallContextStudent(200),
            settings=CompileSettings(token_budget=60),
            run_dir=tmp_path / "run",
        )
    assert not (tmp_path / "run").exists()


# Paths and storage, checked before any model loads


def test_an_artifact_path_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="is a folder; give the artifact's file path"):
        check_before_models(output=tmp_path, run_dir=tmp_path / "run", storage=None)


def test_an_artifact_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "compiled").write_text("")

    with pytest.raises(SettingsError, match="is a file, not a folder"):
        check_before_models(
            output=tmp_path / "compiled" / "x.json", run_dir=tmp_path / "run", storage=None
        )


def test_a_run_dir_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "run").write_text("")

    with pytest.raises(SettingsError, match=r"--run-dir .*is a file, not a folder"):
        check_before_models(output=tmp_path / "x.json", run_dir=tmp_path / "run", storage=None)


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        ("", "not a database URL"),
        ("study.db", "not a database URL"),
        ("nosuchdb://host/x", "unknown database 'nosuchdb'"),
        ("mysql://user@host/pldc", "driver is not installed"),
        ("sqlite:////no/such/folder/study.db", "folder /no/such/folder does not exist"),
    ],
)
def test_an_unusable_storage_url_is_refused_naming_the_flag(url, phrase):
    with pytest.raises(SettingsError) as error:
        check_storage_url(url)

    assert error.value.setting == "storage"
    assert str(error.value).startswith(f"--storage {url!r}: ")
    assert phrase in str(error.value)


@pytest.mark.parametrize("url", ["sqlite:///study.db", "sqlite://", "sqlite:///:memory:"])
def test_a_usable_sqlite_url_passes(url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    check_storage_url(url)


def test_paths_that_can_be_created_pass(tmp_path):
    check_before_models(
        output=tmp_path / "new" / "x.json",
        run_dir=tmp_path / ".pldc" / "task",
        storage=f"sqlite:///{Path(tmp_path) / 'study.db'}",
    )

    assert list(tmp_path.iterdir()) == []


@pytest.mark.real_model
def test_on_the_real_student_a_long_example_is_named_and_once_cut_scores_within_its_context():
    from pldc.backends import open_model
    from pldc.models import DEFAULT_STUDENT
    from pldc.render import render_system_prompt

    student = open_model(DEFAULT_STUDENT)
    rows = records()
    rows[3]["claim"] = "c03 " + "The hotel invoice lists a minibar charge of $14. " * 600
    task = task_with(rows)
    with pytest.raises(DataError, match=r"'c03' \((train|dev|test), field 'claim', \d+ tokens\)"):
        fit_to_student(task, load_task_data(task, SOURCE), student, 512, SOURCE)

    task = task_with(rows, truncate=["claim"])
    checked = fit_to_student(task, load_task_data(task, SOURCE), student, 512, SOURCE)
    cut = next(ex for s in ("train", "dev", "test") for ex in checked.split(s) if ex.id == "c03")
    assert cut.inputs["claim"].endswith(TRUNCATION_MARK)
    # The fullest system prompt the budget allows, beside the cut example, still scores.
    rules: list[str] = []
    while student.count_tokens(render_system_prompt(task.schema, rules)) <= 512:
        rules.append(f"If the claim mentions item {len(rules)}, the answer is approve.")
    system = render_system_prompt(task.schema, rules[:-1])
    messages = render_messages(system, render_user_template(task.schema), cut.inputs)
    assert student.prompt_tokens(messages) > student.context_window - 512 - 40
    scores = student.score(messages, task.schema.labels)
    assert set(scores) == {"approve", "reject"}
