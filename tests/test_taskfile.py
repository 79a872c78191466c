"""Specification tests for pldc/taskfile.py: finding the one Task a task file declares."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

import pldc
from pldc import Task, TaskFileError, load_task_file

SIGNATURE = '''
from typing import Literal

import dspy
import pldc


class ClaimReview(dspy.Signature):
    """Decide whether to approve the claim."""

    claim: str = dspy.InputField()
    decision: Literal["approve", "reject"] = dspy.OutputField()
'''

RECORDS = '[{"claim": "taxi", "decision": "approve"}, {"claim": "spa", "decision": "reject"}]'
VALID_TASK = SIGNATURE + f"\ntask = pldc.Task(ClaimReview, data={RECORDS})\n"


def write_task_file(folder: Path, body: str, name: str = "task.py") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body))
    return path


def test_a_valid_task_file_returns_its_task(tmp_path):
    path = write_task_file(tmp_path, VALID_TASK)

    task = load_task_file(path)

    assert isinstance(task, Task)
    assert task.display_name == "claim_review"
    assert task.schema.labels == ("approve", "reject")


@pytest.fixture
def helper_module_name():
    name = "pldc_test_helper_claims"
    yield name
    sys.modules.pop(name, None)


def test_a_task_file_may_import_a_helper_module_beside_it(tmp_path, helper_module_name):
    (tmp_path / f"{helper_module_name}.py").write_text(
        f"def make_records():\n    return {RECORDS}\n"
    )
    body = (
        SIGNATURE
        + f"from {helper_module_name} import make_records\n"
        + "task = pldc.Task(ClaimReview, data=make_records())\n"
    )
    path = write_task_file(tmp_path, body)

    task = load_task_file(path)

    assert [r["claim"] for r in task.data] == ["taxi", "spa"]


def test_loading_does_not_leave_the_task_folder_on_sys_path(tmp_path):
    path = write_task_file(tmp_path, VALID_TASK)
    before = list(sys.path)

    load_task_file(path)

    assert sys.path == before


def test_a_task_file_with_future_annotations_still_has_literal_labels(tmp_path):
    body = "from __future__ import annotations\n" + SIGNATURE
    body += f"\ntask = pldc.Task(ClaimReview, data={RECORDS})\n"
    path = write_task_file(tmp_path, body)

    task = load_task_file(path)

    assert task.schema.labels == ("approve", "reject")


def test_missing_file_error_names_the_path_and_asks_for_a_py_file(tmp_path):
    path = tmp_path / "nowhere.py"

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "no such task file" in message
    assert ".py" in message


def test_a_non_python_file_is_refused_naming_the_path(tmp_path):
    path = tmp_path / "task.txt"
    path.write_text(SIGNATURE)

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "give a .py file" in message


def test_syntax_error_names_the_path_and_line_number(tmp_path):
    path = write_task_file(tmp_path, "import pldc\n\ntask = pldc.Task(\n")

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert message.startswith(f"{path}:3:")
    assert "syntax error" in message


def test_a_file_without_a_task_is_refused_with_the_declaration_to_add(tmp_path):
    path = write_task_file(tmp_path, SIGNATURE)

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "declares no pldc.Task" in message
    assert "task = pldc.Task(signature=" in message


def test_a_file_with_two_tasks_is_refused_naming_both(tmp_path):
    body = SIGNATURE + (
        f"\nfirst = pldc.Task(ClaimReview, data={RECORDS}, name='first')\n"
        f"second = pldc.Task(ClaimReview, data={RECORDS}, name='second')\n"
    )
    path = write_task_file(tmp_path, body)

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "first" in message and "second" in message
    assert "keep one per file" in message


def test_one_task_bound_to_two_names_counts_once(tmp_path):
    body = SIGNATURE + f"\ntask = pldc.Task(ClaimReview, data={RECORDS})\nalias = task\n"
    path = write_task_file(tmp_path, body)

    assert load_task_file(path).display_name == "claim_review"


def test_labels_not_typed_literal_error_names_the_file_and_the_field(tmp_path):
    body = '''
    import dspy
    import pldc


    class ClaimReview(dspy.Signature):
        """Decide whether to approve the claim."""

        claim: str = dspy.InputField()
        decision: str = dspy.OutputField()


    task = pldc.Task(ClaimReview, data=[])
    '''
    path = write_task_file(tmp_path, body)

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert message.startswith(f"{path}: ")
    assert "'decision'" in message
    assert "Literal[" in message


def test_an_exception_while_running_the_file_names_the_file_and_the_exception(tmp_path):
    path = write_task_file(tmp_path, "raise ValueError('the data folder is empty')\n")

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "ValueError: the data folder is empty" in message
    assert "fix the file" in message


def test_a_pldc_error_while_running_the_file_keeps_its_type_and_gains_the_path(tmp_path):
    path = write_task_file(tmp_path, "import pldc\npldc.Splits(train=0.5, dev=0.5, test=0.5)\n")

    with pytest.raises(TaskFileError) as error:
        load_task_file(path)

    message = str(error.value)
    assert message.startswith(f"{path}: Splits(")


def test_a_missing_extra_error_while_running_the_file_keeps_the_install_hint(tmp_path):
    body = "import pldc\nraise pldc.MissingExtraError(\"local model 'x'\", 'local')\n"
    path = write_task_file(tmp_path, body)

    with pytest.raises(pldc.PLDError) as error:
        load_task_file(path)

    message = str(error.value)
    assert str(path) in message
    assert "pip install 'pldc[local]'" in message
