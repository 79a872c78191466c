"""Specification tests for pldc/cli.py: user errors end in one `error:` line and exit code 2.

None of these may open a model: `open_model` is replaced by a tripwire.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pldc import cli
from pldc.backends import FunctionBackend
from pldc.cli import main

VALID_TASK = '''
from typing import Literal

import dspy
import pldc


class ClaimReview(dspy.Signature):
    """Decide whether to approve the claim."""

    claim: str = dspy.InputField()
    decision: Literal["approve", "reject"] = dspy.OutputField()


task = pldc.Task(ClaimReview, data=[{"claim": "taxi", "decision": "approve"}])
'''


@pytest.fixture(autouse=True)
def no_model_may_open(monkeypatch):
    def tripwire(*args, **kwargs):
        raise AssertionError("a model was opened before the error was reported")

    monkeypatch.setattr(cli, "open_model", tripwire)
    monkeypatch.setattr(cli, "open_recorded_model", tripwire)


def run(argv, capsys) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def unwrapped(text: str) -> str:
    """The console wraps long lines; join them back to read the message as written."""
    return text.replace("\n", "")


def assert_one_error_report(code: int, out: str, err: str) -> None:
    assert code == 2
    assert err.startswith("error: ")
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.splitlines()[0]]
    assert "Traceback" not in out + err


def test_compile_of_a_missing_task_file_reports_the_path(tmp_path, capsys):
    task_path = tmp_path / "missing_task.py"

    code, out, err = run(["compile", str(task_path)], capsys)

    assert_one_error_report(code, out, err)
    assert str(task_path) in unwrapped(err)


def test_compile_of_a_malformed_task_file_reports_the_path_and_line(tmp_path, capsys):
    task_path = tmp_path / "broken_task.py"
    task_path.write_text("import pldc\n\ntask = pldc.Task(\n")

    code, out, err = run(["compile", str(task_path)], capsys)

    assert_one_error_report(code, out, err)
    assert f"{task_path}:3: syntax error" in unwrapped(err)


def test_show_of_a_corrupt_artifact_reports_the_path(tmp_path, capsys):
    artifact_path = tmp_path / "bad.json"
    artifact_path.write_text("{not json")

    code, out, err = run(["show", str(artifact_path)], capsys)

    assert_one_error_report(code, out, err)
    assert str(artifact_path) in unwrapped(err)


def test_show_of_an_artifact_of_another_schema_reports_schema_version(tmp_path, capsys):
    artifact_path = tmp_path / "future.json"
    artifact_path.write_text(json.dumps({"schema_version": 99}))

    code, out, err = run(["show", str(artifact_path)], capsys)

    assert_one_error_report(code, out, err)
    assert "schema_version is 99" in unwrapped(err)


def test_eval_of_a_corrupt_artifact_reports_the_path(tmp_path, capsys):
    artifact_path = tmp_path / "bad.json"
    artifact_path.write_text("{not json")
    task_path = tmp_path / "task.py"
    task_path.write_text(VALID_TASK)

    code, out, err = run(["eval", str(artifact_path), str(task_path)], capsys)

    assert_one_error_report(code, out, err)
    assert str(artifact_path) in unwrapped(err)


@pytest.mark.parametrize("command", ["eval", "show"])
def test_a_task_file_given_as_the_artifact_says_the_artifact_comes_first(tmp_path, capsys, command):
    task_path = tmp_path / "task.py"
    task_path.write_text(VALID_TASK)
    artifact = Path(__file__).resolve().parent.parent / "compiled" / "legal_intake.json"
    args = (
        [command, str(task_path), str(artifact)] if command == "eval" else [command, str(task_path)]
    )

    code, out, err = run(args, capsys)

    assert_one_error_report(code, out, err)
    assert "not a compiled artifact (a .json file `pldc compile` wrote)" in unwrapped(err)
    assert "recompile" not in err


def test_compile_with_a_budget_below_zero_reports_the_flag(tmp_path, capsys):
    task_path = tmp_path / "task.py"
    task_path.write_text(VALID_TASK)

    code, out, err = run(["compile", str(task_path), "--budget", "-1"], capsys)

    assert_one_error_report(code, out, err)
    assert "--budget" in err


def test_a_long_error_message_stays_on_one_line(tmp_path, capsys):
    task_path = tmp_path / ("a" * 150) / ("b" * 150) / "task.py"

    code, _out, err = run(["compile", str(task_path)], capsys)

    assert code == 2
    assert len(err.strip().splitlines()) == 1


def test_square_brackets_in_an_error_message_are_printed_verbatim(tmp_path, capsys):
    task_path = tmp_path / "[draft]" / "task.py"

    code, _out, err = run(["compile", str(task_path)], capsys)

    assert code == 2
    assert str(task_path) in unwrapped(err)


def test_compile_with_an_unknown_preset_key_names_the_file_and_key(tmp_path, capsys):
    task_path = tmp_path / "task.py"
    task_path.write_text(VALID_TASK)
    preset = tmp_path / "fast.toml"
    preset.write_text("trails = 3\n")

    code, out, err = run(["compile", str(task_path), "--optimizer", str(preset)], capsys)

    assert_one_error_report(code, out, err)
    assert str(preset) in unwrapped(err) and "'trails'" in err


def test_a_data_warning_prints_as_one_warning_line_before_any_model_loads(tmp_path, capsys):
    task_path = tmp_path / "task.py"
    records = [
        {"claim": f"taxi {i % 19}", "decision": ("approve", "reject")[i % 19 % 2]}
        for i in range(20)
    ]
    task_path.write_text(
        VALID_TASK.replace('[{"claim": "taxi", "decision": "approve"}]', repr(records))
    )

    code, out, err = run(["compile", str(task_path), "--storage", "not a url"], capsys)

    lines = err.splitlines()
    assert code == 2 and len(lines) == 2
    assert lines[0].startswith("warning: ") and "1 input text(s) occur more than once" in lines[0]
    assert lines[1].startswith("error: --storage 'not a url'")
    assert "Traceback" not in out + err


def test_eval_refuses_an_example_beyond_the_recorded_students_context(
    tmp_path, capsys, monkeypatch
):
    signatures = Path(__file__).resolve().parent.parent / "signatures"
    requests = [
        {"id": f"r{i}", "request": f"Please review contract {i}.", "queue": queue}
        for i, queue in enumerate(["self_serve", "in_house", "outside_counsel"] * 10)
    ]
    requests[4]["request"] = " ".join(["clause"] * 1500)  # beyond 1024 whatever the prompt
    task_path = tmp_path / "task.py"
    task_path.write_text(
        f"import sys\nsys.path.insert(0, {str(signatures)!r})\nimport pldc\n"
        "from legal_intake import LegalIntakeRouting\n"
        f"task = pldc.Task(LegalIntakeRouting, data={requests!r})\n"
    )
    student = FunctionBackend(score=lambda messages, labels: dict.fromkeys(labels, 0.0))
    student.context_window = 1024
    monkeypatch.setattr(cli, "open_recorded_model", lambda identity, **kwargs: student)
    artifact = Path(__file__).resolve().parent.parent / "compiled" / "legal_intake.json"

    code, out, err = run(["eval", str(artifact), str(task_path), "--other-data"], capsys)

    assert err.startswith("warning: ") and "scoring it anyway (--other-data)" in unwrapped(err)
    err = err[err.index("error: ") :]
    assert_one_error_report(code, out, err)
    assert "1 example(s) do not fit the student's context of 1024 tokens" in unwrapped(err)
    assert "'r4' (" in err and "field 'request'" in unwrapped(err)


def test_eval_refuses_data_other_than_the_artifacts_before_any_model_loads(tmp_path, capsys):
    """Issue 20 D13: the same task with its split's seed changed puts other examples in test."""
    signatures = Path(__file__).resolve().parent.parent / "signatures"
    source = (signatures / "legal_intake.py").read_text()
    assert "seed=0" in source
    task_path = tmp_path / "legal_intake.py"
    prelude = f"import sys\nsys.path.insert(0, {str(signatures)!r})\n"
    task_path.write_text(prelude + source.replace("seed=0", "seed=1"))
    artifact = Path(__file__).resolve().parent.parent / "compiled" / "legal_intake.json"

    code, out, err = run(["eval", str(artifact), str(task_path)], capsys)

    err = err[err.index("error: ") :]  # after the task's own duplicate-request warning
    assert_one_error_report(code, out, err)
    assert "the data or its split differs from what" in unwrapped(err)
    assert "pass --other-data" in unwrapped(err)
