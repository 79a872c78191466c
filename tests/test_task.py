"""Specification tests for pldc/task.py: what pldc reads off a task's DSPy signature."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Literal

import dspy
import pytest

from pldc import Splits, Task, TaskFileError
from pldc.task import TaskSchema
from pldc.taskfile import load_task_file


class ExpenseClaimReview(dspy.Signature):
    """Review an expense claim and decide what happens to it."""

    claim_text: str = dspy.InputField(desc="the claim as submitted")
    amount: str = dspy.InputField()
    decision: Literal["approve", "reject", "escalate"] = dspy.OutputField()


def test_instruction_is_the_signature_docstring():
    schema = TaskSchema.from_signature(ExpenseClaimReview)

    assert schema.instruction == "Review an expense claim and decide what happens to it."


def test_input_fields_keep_declaration_order():
    schema = TaskSchema.from_signature(ExpenseClaimReview)

    assert schema.input_names == ("claim_text", "amount")


def test_input_field_title_is_the_name_in_words_with_a_capital():
    schema = TaskSchema.from_signature(ExpenseClaimReview)

    assert [f.title for f in schema.input_fields] == ["Claim text", "Amount"]


def test_input_field_description_is_kept_and_dspy_placeholder_is_dropped():
    schema = TaskSchema.from_signature(ExpenseClaimReview)

    assert [f.description for f in schema.input_fields] == ["the claim as submitted", ""]


def test_output_field_and_its_literal_labels_are_read_in_order():
    schema = TaskSchema.from_signature(ExpenseClaimReview)

    assert schema.output_field == "decision"
    assert schema.labels == ("approve", "reject", "escalate")


def test_output_not_typed_literal_error_names_the_field_and_shows_a_literal_example():
    class FreeText(dspy.Signature):
        """Decide."""

        claim: str = dspy.InputField()
        verdict: str = dspy.OutputField()

    with pytest.raises(TaskFileError) as error:
        TaskSchema.from_signature(FreeText)

    message = str(error.value)
    assert "'verdict'" in message
    assert 'Literal["yes", "no"]' in message


def test_two_output_fields_are_refused_naming_both():
    class TwoOutputs(dspy.Signature):
        """Decide."""

        claim: str = dspy.InputField()
        decision: Literal["approve", "reject"] = dspy.OutputField()
        reason: str = dspy.OutputField()

    with pytest.raises(TaskFileError) as error:
        TaskSchema.from_signature(TwoOutputs)

    message = str(error.value)
    assert "2 output fields" in message
    assert "decision" in message and "reason" in message


def test_signature_without_input_field_is_refused():
    class NoInput(dspy.Signature):
        """Decide."""

        decision: Literal["approve", "reject"] = dspy.OutputField()

    with pytest.raises(TaskFileError, match="no input field"):
        TaskSchema.from_signature(NoInput)


def test_signature_without_docstring_is_refused():
    class NoDocstring(dspy.Signature):
        claim: str = dspy.InputField()
        decision: Literal["approve", "reject"] = dspy.OutputField()

    with pytest.raises(TaskFileError, match="docstring"):
        TaskSchema.from_signature(NoDocstring)


def test_a_docstringless_signature_with_several_inputs_is_refused_too():
    # dspy fills in "Given the fields `claim`, `amount`, produce the fields `decision`."
    class NoDocstring(dspy.Signature):
        claim: str = dspy.InputField()
        amount: str = dspy.InputField()
        decision: Literal["approve", "reject"] = dspy.OutputField()

    assert NoDocstring.instructions.startswith("Given the fields `claim`, `amount`")
    with pytest.raises(TaskFileError, match="docstring"):
        TaskSchema.from_signature(NoDocstring)


BUNDLED_TASK_FILES = sorted(
    path
    for path in (Path(__file__).resolve().parent.parent / "signatures").glob("*.py")
    if not path.stem.endswith("_data")
)


@pytest.mark.parametrize("path", BUNDLED_TASK_FILES, ids=lambda path: path.name)
def test_a_bundled_task_files_instruction_is_its_signatures_docstring(path):
    task = load_task_file(path)

    assert task.schema.instruction == inspect.cleandoc(task.signature.__doc__)


def test_a_plain_class_is_refused_as_not_a_dspy_signature():
    class NotASignature:
        """Decide."""

        claim: str
        decision: Literal["approve", "reject"]

    with pytest.raises(TaskFileError) as error:
        TaskSchema.from_signature(NotASignature)

    message = str(error.value)
    assert "'NotASignature'" in message
    assert "dspy.Signature" in message


def test_a_single_label_is_refused():
    class OneLabel(dspy.Signature):
        """Decide."""

        claim: str = dspy.InputField()
        decision: Literal["approve"] = dspy.OutputField()

    with pytest.raises(TaskFileError, match="at least two distinct"):
        TaskSchema.from_signature(OneLabel)


def test_default_splits_are_accepted():
    splits = Splits()

    assert (splits.train, splits.dev, splits.test) == (0.6, 0.2, 0.2)


@pytest.mark.parametrize(
    ("train", "dev", "test"),
    [(0.5, 0.5, 0.5), (0.6, 0.2, 0.1), (0.7, 0.3, 0.0), (1.2, -0.1, -0.1)],
)
def test_splits_must_be_positive_and_sum_to_one(train, dev, test):
    with pytest.raises(TaskFileError, match="must be > 0 and they must sum to 1"):
        Splits(train=train, dev=dev, test=test)


def test_display_name_defaults_to_the_snake_case_signature_name():
    task = Task(signature=ExpenseClaimReview, data=[])

    assert task.display_name == "expense_claim_review"


def test_display_name_is_the_given_name_when_set():
    task = Task(signature=ExpenseClaimReview, data=[], name="claims")

    assert task.display_name == "claims"


def test_task_schema_is_read_from_its_signature():
    task = Task(signature=ExpenseClaimReview, data=[])

    assert task.schema == TaskSchema.from_signature(ExpenseClaimReview)


# Labels a prompt can list and a reply can tell apart (issue 20, C7)


def signature_with_labels(*labels: str) -> type:
    """A signature whose output field is `Literal[labels]`, built at run time."""
    annotations = {"claim": str, "decision": Literal[labels]}
    namespace = {"__doc__": "Decide.", "__annotations__": annotations}
    namespace |= {"claim": dspy.InputField(), "decision": dspy.OutputField()}
    return type("Review", (dspy.Signature,), namespace)


@pytest.mark.parametrize(
    ("labels", "phrase"),
    [
        (("Spam", "spam"), "'Spam' and 'spam' differ only in case"),
        (("spam", "SPAM", "ham"), "'spam' and 'SPAM' differ only in case"),
        (("no spam", "no  spam"), "differ only in case, whitespace"),
        (("caf\u00e9", "cafe\u0301"), "Unicode normalization"),
    ],
)
def test_labels_that_differ_only_in_case_whitespace_or_normalization_are_refused(labels, phrase):
    with pytest.raises(TaskFileError, match=phrase):
        TaskSchema.from_signature(signature_with_labels(*labels))


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("", "label '' is empty"),
        ("   ", "label '   ' is empty"),
        (" spam", "leading or trailing whitespace"),
        ("urgent, escalate", "holds a comma"),
        ("urgent,escalate", "holds a comma"),
        ("line\nbreak", "line break"),
    ],
)
def test_a_label_the_answer_format_cannot_list_is_refused(label, phrase):
    with pytest.raises(TaskFileError) as error:
        TaskSchema.from_signature(signature_with_labels("routine", label))

    assert phrase in str(error.value)
    assert "output field 'decision'" in str(error.value)


def test_distinct_readable_labels_are_accepted_in_order():
    schema = TaskSchema.from_signature(signature_with_labels("spam", "spam-likely", "ham"))

    assert schema.labels == ("spam", "spam-likely", "ham")


# Task fields that name signature fields


def test_columns_keyed_by_a_name_that_is_no_field_is_refused():
    task = Task(signature=ExpenseClaimReview, data=[], columns={"claim": "text"})

    with pytest.raises(TaskFileError) as error:
        task.check_field_names()

    message = str(error.value)
    assert "maps 'claim', which is not a field" in message
    assert "'claim_text'" in message


def test_truncate_naming_no_input_field_is_refused():
    task = Task(signature=ExpenseClaimReview, data=[], truncate=["decision"])

    with pytest.raises(TaskFileError, match="names 'decision', which is not an input field"):
        task.check_field_names()


def test_truncate_given_as_one_string_is_refused():
    with pytest.raises(TaskFileError, match=r'truncate=\["claim"\]'):
        Task(signature=ExpenseClaimReview, data=[], truncate="claim_text")


def test_truncate_names_are_kept_as_a_tuple():
    task = Task(signature=ExpenseClaimReview, data=[], truncate=["claim_text"])

    task.check_field_names()
    assert task.truncate == ("claim_text",)
