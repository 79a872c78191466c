"""Everything declared in a signature reaches the student's and the teacher's messages
(issue 20 C8): the instruction, the field names (or an explicit prefix, as the field's
title) and every field's `desc`, the output field's included."""

from __future__ import annotations

from typing import Literal

import dspy
import pytest

from pldc.render import (
    render_demonstration,
    render_extraction_messages,
    render_resolution_messages,
    render_synthesis_messages,
    render_system_prompt,
    render_user_template,
    student_scaffold,
)
from pldc.task import TaskSchema


class Described(dspy.Signature):
    """Decide what happens to an expense claim."""

    claim_text: str = dspy.InputField(desc="the claim as the employee submitted it")
    amount: str = dspy.InputField()
    decision: Literal["approve", "reject"] = dspy.OutputField(desc="what finance does with it")


class Bare(dspy.Signature):
    """Decide what happens to an expense claim."""

    claim_text: str = dspy.InputField()
    decision: Literal["approve", "reject"] = dspy.OutputField()


FIELDS = (
    "Fields:\n"
    "- Claim text: the claim as the employee submitted it\n"
    "- Answer: what finance does with it"
)


def test_descriptions_reach_the_students_system_prompt_after_the_instruction():
    schema = TaskSchema.from_signature(Described)
    prompt = render_system_prompt(schema, ["If the claim is late, the answer is reject."])
    assert prompt.startswith(f"Decide what happens to an expense claim.\n\n{FIELDS}\n\n")
    assert prompt.index(FIELDS) < prompt.index("Decision rules:")


def test_a_signature_without_descriptions_renders_as_before():
    schema = TaskSchema.from_signature(Bare)
    prompt = render_system_prompt(schema, [])
    assert "Fields:" not in prompt
    assert prompt == (
        "Decide what happens to an expense claim.\n\n"
        "Answer with exactly one of these labels and nothing else: approve, reject."
    )


def test_descriptions_reach_every_teacher_prompt():
    schema = TaskSchema.from_signature(Described)
    case = {"claim_text": "Taxi, $40", "amount": "40"}
    prompts = [
        render_extraction_messages(schema, case, "approve"),
        render_extraction_messages(schema, case, "approve", (case, "reject")),
        render_synthesis_messages(schema, ["If a, the answer is approve."], "approve"),
        render_resolution_messages(
            schema, ["If a, the answer is approve."], case, "approve", "reject", [(case, "reject")]
        ),
    ]
    for messages in prompts:
        user = messages[-1]["content"]
        assert f"Task: Decide what happens to an expense claim.\n{FIELDS}\nPossible labels" in user


def test_a_changed_description_changes_the_students_scaffold_so_stored_work_is_redone():
    class Edited(Described):
        """Decide what happens to an expense claim."""

        claim_text: str = dspy.InputField(desc="the claim, as typed by the employee")

    before = student_scaffold(TaskSchema.from_signature(Described))
    after = student_scaffold(TaskSchema.from_signature(Edited))
    assert before != after


@pytest.mark.filterwarnings("ignore:The 'prefix' argument:DeprecationWarning")
def test_an_explicit_prefix_titles_the_field_everywhere():
    class Prefixed(dspy.Signature):
        """Decide what happens to an expense claim."""

        claim_text: str = dspy.InputField(prefix="Employee's claim:", desc="as submitted")
        amount: str = dspy.InputField()
        decision: Literal["approve", "reject"] = dspy.OutputField()

    schema = TaskSchema.from_signature(Prefixed)
    assert [spec.title for spec in schema.input_fields] == ["Employee's claim", "Amount"]
    assert render_user_template(schema) == "Employee's claim: {claim_text}\nAmount: {amount}"
    demo = render_demonstration(schema, {"claim_text": "Taxi", "amount": "40"}, "approve")
    assert demo.startswith("Employee's claim: Taxi\n")
    assert "- Employee's claim: as submitted" in render_system_prompt(schema, [])


def test_dspys_own_default_prefix_leaves_pldcs_title():
    schema = TaskSchema.from_signature(Described)
    assert [spec.title for spec in schema.input_fields] == ["Claim text", "Amount"]
    assert schema.output_description == "what finance does with it"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("option", ["format", "parser"])
def test_what_no_prompt_can_show_is_refused_with_the_field_named(option):
    from pldc.errors import TaskFileError

    class Claims(dspy.Signature):
        """Decide what happens to an expense claim."""

        claim: str = dspy.InputField(**{option: str})
        decision: Literal["approve", "reject"] = dspy.OutputField()

    with pytest.raises(TaskFileError) as error:
        TaskSchema.from_signature(Claims)
    assert f"field 'claim' sets {option}=" in str(error.value)


@pytest.mark.filterwarnings("ignore:The 'prefix' argument:DeprecationWarning")
def test_an_output_prefix_is_refused_since_every_prompt_says_answer():
    from pldc.errors import TaskFileError

    class Prefixed(dspy.Signature):
        """Decide what happens to an expense claim."""

        claim: str = dspy.InputField()
        decision: Literal["approve", "reject"] = dspy.OutputField(prefix="Verdict:")

    with pytest.raises(TaskFileError, match=r"output field 'decision' sets prefix='Verdict:'"):
        TaskSchema.from_signature(Prefixed)
