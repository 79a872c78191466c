"""Closed-loop conflict resolution on the fake ticket task: edits, acceptance, and the log."""

from __future__ import annotations

import re

import pytest

from pldc.backends import FunctionBackend
from pldc.data import load_task_data
from pldc.evaluate import StudentEvaluator
from pldc.records import Rule
from pldc.render import Edit, parse_edit, render_user_template
from pldc.resolve import resolve_conflicts
from pldc.settings import ResolveSettings
from pldc.store import JsonlStore
from tests.conftest import fake_student_scores, fake_teacher_reply, toy_task

RULE = "If the ticket mentions refund, the answer is refund."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (f"REVISE 2: {RULE}", Edit(action="revise", rule_number=2, texts=[RULE])),
        (f"**ADD:** {RULE}", Edit(action="add", texts=[RULE])),
        ("Remove rule 1", Edit(action="remove", rule_number=1)),
        (
            f"Sure.\nSPLIT 1: {RULE} || If the ticket mentions crash, the answer is bug.",
            Edit(
                action="split",
                rule_number=1,
                texts=[RULE, "If the ticket mentions crash, the answer is bug."],
            ),
        ),
    ],
)
def test_parse_edit_reads_each_form(reply, expected):
    assert parse_edit(reply, rule_count=2) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "I would change the second rule.",
        f"REVISE 5: {RULE}",  # no rule 5
        "REMOVE",  # which one?
        f"SPLIT 1: {RULE}",  # a split needs two rules
        "ADD: ok",  # too short to be a rule
    ],
)
def test_parse_edit_refuses_what_it_cannot_apply(reply):
    assert parse_edit(reply, rule_count=2) is None


def _setup(teacher_reply=fake_teacher_reply):
    task = toy_task()
    data = load_task_data(task, "toy")
    schema = task.schema
    student = FunctionBackend(score=fake_student_scores, name="fake-student")
    evaluator = StudentEvaluator(student, schema, render_user_template(schema))
    teacher = FunctionBackend(generate=teacher_reply, name="fake-teacher")
    return schema, data, evaluator, teacher


def _rule(rule_id: str, text: str, label: str) -> Rule:
    return Rule(id=rule_id, text=text, labels=[label], source_example_ids=["t000"], support=1)


def test_resolution_adds_the_missing_rule_and_logs_why():
    schema, data, evaluator, teacher = _setup()
    pool = [_rule("rule-01", "If the ticket mentions refund, the answer is refund.", "refund")]
    settings = ResolveSettings(token_budget=400, max_rounds=3, examples=12, edits_per_round=4)

    rules, record = resolve_conflicts(
        schema, pool, evaluator, data.train, data.dev, teacher.generate, settings
    )

    first = record.rounds[0]
    assert first.accepted and first.dev_macro_f1_after > first.dev_macro_f1_before
    added = {rule.id: rule for rule in rules if rule.fate == "added"}
    assert any("crash, the answer is bug" in rule.text for rule in added.values())
    applied = [r for r in first.revisions if r.skipped_reason is None]
    # every applied edit names the failure behind it, and argues for that failure's gold label
    train_by_id = {ex.id: ex for ex in data.train}
    for revision in applied:
        assert revision.action == "add" and train_by_id[revision.example_id].label == revision.gold
        for rule_id in revision.new_rule_ids:
            assert added[rule_id].text.endswith(f"the answer is {revision.gold}.")
            assert added[rule_id].source_example_ids == [revision.example_id]
    assert set(added) == {i for r in applied for i in r.new_rule_ids}
    assert record.rounds[-1].accepted is False or "no mistake" in record.stopped_because


def test_resolution_keeps_the_rules_when_edits_do_not_help():
    def harmful_teacher(messages):
        return "REVISE 1: If the ticket mentions hello, the answer is other."

    schema, data, evaluator, teacher = _setup(harmful_teacher)
    pool = [_rule("rule-01", "If the ticket mentions refund, the answer is refund.", "refund")]
    settings = ResolveSettings(token_budget=400, max_rounds=2, examples=12, edits_per_round=2)

    rules, record = resolve_conflicts(
        schema, pool, evaluator, data.train, data.dev, teacher.generate, settings
    )

    assert [rule.id for rule in rules] == ["rule-01"]
    (only,) = record.rounds
    assert not only.accepted and "did not raise" in record.stopped_because
    first, second = only.revisions
    assert first.action == "revise" and first.before == pool[0].text
    assert first.after == ["If the ticket mentions hello, the answer is other."]
    assert second.skipped_reason == "another failure already edited this rule this round"


def test_revised_rule_keeps_provenance_and_its_earlier_wording():
    schema, data, evaluator, _ = _setup()

    def reviser(messages):
        label = re.search(r"Correct answer: (\w+)", messages[-1]["content"]).group(1)
        return f"REVISE 1: If the ticket mentions crash, the answer is {label}."

    pool = [_rule("rule-01", "If the ticket mentions hours, the answer is bug.", "bug")]
    settings = ResolveSettings(token_budget=400, max_rounds=1, examples=12, edits_per_round=1)
    rules, record = resolve_conflicts(
        schema, pool, evaluator, data.train, data.dev, reviser, settings
    )
    (revision,) = record.rounds[0].revisions
    assert revision.gold == "bug" and record.rounds[0].accepted
    (rule,) = rules
    assert rule.text == "If the ticket mentions crash, the answer is bug."
    assert rule.fate == "revised" and rule.previous_texts == [pool[0].text]
    assert rule.source_example_ids == ["t000", revision.example_id]
    assert rule.support == 2


def test_student_scores_persist_and_are_not_paid_for_twice(tmp_path):
    schema, data, _, _ = _setup()
    calls = []

    def counting_scores(messages, labels):
        calls.append(messages)
        return fake_student_scores(messages, labels)

    def evaluator():
        student = FunctionBackend(score=counting_scores, name="fake-student")
        store = JsonlStore(tmp_path / "scores.jsonl")
        return StudentEvaluator(student, schema, render_user_template(schema), store)

    first = evaluator().label_scores("System A", data.dev)
    assert len(calls) == len(data.dev)
    second = evaluator().label_scores("System A", data.dev)
    assert second == first and len(calls) == len(data.dev)
    evaluator().label_scores("System B", data.dev[:2])
    assert len(calls) == len(data.dev) + 2


def test_an_edit_that_copies_case_details_is_logged_and_not_applied():
    def copying_teacher(messages):
        case = messages[-1]["content"].split("decided this case wrongly:\n")[1].split("\n")[0]
        ref = re.search(r"ref (\d+)", case).group(1)
        return f"ADD: If the ticket says ref {ref}, the answer is bug."

    schema, data, evaluator, teacher = _setup(copying_teacher)
    settings = ResolveSettings(token_budget=400, max_rounds=1, examples=12, edits_per_round=2)
    rules, record = resolve_conflicts(
        schema, [], evaluator, data.train, data.dev, teacher.generate, settings
    )
    assert rules == []
    for revision in record.rounds[0].revisions:
        assert revision.action == "add" and not revision.new_rule_ids
        assert revision.skipped_reason.startswith("the new rule names details of the case: ")


def test_rules_pushed_past_the_budget_by_an_edit_stay_in_the_pool():
    schema, data, evaluator, teacher = _setup()
    pool = [_rule("rule-01", "If the ticket mentions refund, the answer is refund.", "refund")]
    count = evaluator.student.count_tokens
    from pldc.render import render_system_prompt

    # room for the pool's rule and one more: later additions do not fit the prompt
    one_more = [pool[0].text, "If the ticket mentions error message, the answer is bug."]
    budget = count(render_system_prompt(schema, one_more)) + 2
    settings = ResolveSettings(token_budget=budget, max_rounds=1, examples=12, edits_per_round=4)
    rules, record = resolve_conflicts(
        schema, pool, evaluator, data.train, data.dev, teacher.generate, settings
    )
    (round_,) = record.rounds
    applied = {i for r in round_.revisions for i in r.new_rule_ids}
    assert round_.accepted and len(round_.rule_ids_after) < len(applied) + 1
    assert applied | {"rule-01"} <= {rule.id for rule in rules}
