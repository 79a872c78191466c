"""pldc.evidence: each candidate's leave-one-out change in dev Macro-F1, every prompt calibrated
on the examples the caller names."""

from __future__ import annotations

import pytest
from conftest import toy_task

from pldc.data import Example
from pldc.evaluate import StudentEvaluator
from pldc.evidence import leave_one_out
from pldc.records import Rule
from pldc.render import render_candidates, render_user_template

SCHEMA = toy_task().schema
CRASH = Rule(
    id="rule-01",
    text="If the ticket mentions crash, the answer is bug.",
    labels=["bug"],
    source_example_ids=[],
    support=0,
)
HOURS = Rule(
    id="rule-02",
    text="If the ticket mentions hours, the answer is other.",
    labels=["other"],
    source_example_ids=[],
    support=0,
)


def example(number: int, ticket: str, label: str) -> Example:
    return Example(id=f"e{number}", inputs={"ticket": ticket}, label=label)


DEV = [
    example(1, "a crash", "bug"),
    example(2, "my refund", "refund"),
    example(3, "about hours", "other"),
    example(4, "money back", "refund"),
]
CALIBRATION_SET = [example(5, "a crash again", "bug")]


@pytest.fixture
def evaluator(student) -> StudentEvaluator:
    return StudentEvaluator(student, SCHEMA, render_user_template(SCHEMA))


def dev_macro_f1(evaluator, candidates, calibrate_on) -> float:
    prompt = render_candidates(SCHEMA, candidates)
    _, calibration = evaluator.predictions("batch", prompt, calibrate_on)
    return evaluator.evaluate(prompt, DEV, calibration).macro_f1


def test_each_delta_is_dev_macro_f1_with_every_candidate_minus_without_that_one(evaluator):
    measured = leave_one_out(SCHEMA, [CRASH, HOURS], evaluator, DEV, "batch")

    full = dev_macro_f1(evaluator, [CRASH, HOURS], DEV)
    assert [r.leave_one_out_delta for r in measured] == [
        round(full - dev_macro_f1(evaluator, [HOURS], DEV), 6),
        round(full - dev_macro_f1(evaluator, [CRASH], DEV), 6),
    ]
    assert [r.id for r in measured] == ["rule-01", "rule-02"]


def test_every_prompt_is_calibrated_on_the_examples_named_not_on_dev(evaluator):
    on_dev = leave_one_out(SCHEMA, [CRASH, HOURS], evaluator, DEV, "batch")

    measured = leave_one_out(
        SCHEMA, [CRASH, HOURS], evaluator, DEV, "batch", calibrate_on=CALIBRATION_SET
    )

    full = dev_macro_f1(evaluator, [CRASH, HOURS], CALIBRATION_SET)
    deltas = [r.leave_one_out_delta for r in measured]
    assert deltas == [
        round(full - dev_macro_f1(evaluator, [HOURS], CALIBRATION_SET), 6),
        round(full - dev_macro_f1(evaluator, [CRASH], CALIBRATION_SET), 6),
    ]
    assert deltas != [r.leave_one_out_delta for r in on_dev]  # the calibration set matters here
