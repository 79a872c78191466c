"""The stages of pldc.stages: each stored stage runs once per key, and each key changes with
exactly the inputs it declares."""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

import dspy
import pytest
from conftest import toy_task

from pldc import render
from pldc.embed import TfidfEmbedder
from pldc.progress import NullProgress
from pldc.records import Rule
from pldc.settings import CompileSettings
from pldc.stages import (
    RulePool,
    cached_stage,
    candidates,
    extraction,
    open_workspace,
    resolution,
    rule_pool,
    rule_search,
    verification,
)
from pldc.store import JsonlStore

SETTINGS = CompileSettings(token_budget=120, trials=2, seed=0, teacher_examples=6)


def workspace(tmp_path, teacher, student, settings=SETTINGS, **task_fields):
    return open_workspace(
        toy_task(**task_fields),
        teacher=teacher,
        student=student,
        settings=settings,
        run_dir=tmp_path / "run",
        source="toy",
        base_dir=None,
        progress=NullProgress(),
        embedder=TfidfEmbedder(),
    )


def pool_of(*texts: str) -> RulePool:
    rules = [
        Rule(id=f"rule-{i}", text=text, labels=[], source_example_ids=[], support=0)
        for i, text in enumerate(texts)
    ]
    return RulePool(rules=rules)


def test_a_cached_stage_runs_once_per_key_and_returns_the_stored_record(tmp_path):
    runs = []

    def compute() -> RulePool:
        runs.append(1)
        return pool_of("If the ticket mentions refund, the answer is refund.")

    first = cached_stage(JsonlStore(tmp_path / "stages.jsonl"), "k", RulePool, compute)
    again = cached_stage(JsonlStore(tmp_path / "stages.jsonl"), "k", RulePool, compute)

    assert again == first and runs == [1]


def test_a_cached_stage_runs_again_for_another_key(tmp_path):
    store = JsonlStore(tmp_path / "stages.jsonl")
    cached_stage(store, "k1", RulePool, lambda: pool_of("a"))

    assert cached_stage(store, "k2", RulePool, lambda: pool_of("b")) == pool_of("b")


def test_a_rule_pool_is_stored_in_the_form_run_directories_hold(tmp_path):
    store = JsonlStore(tmp_path / "stages.jsonl")
    cached_stage(store, "k", RulePool, lambda: pool_of("a"))

    assert set(store.get("k")) == {"rules", "record"}


def test_the_rule_pool_stage_is_read_back_without_a_teacher_call(tmp_path, teacher, student):
    space = workspace(tmp_path, teacher, student)
    first = rule_pool.run(space, extraction.run(space))
    calls = len(teacher.calls)

    reopened = workspace(tmp_path, teacher, student)
    again = rule_pool.run(reopened, extraction.run(reopened))

    assert again == first and len(teacher.calls) == calls


def test_no_resolution_rounds_leave_the_pool_as_it_was(tmp_path, teacher, student):
    settings = dataclasses.replace(SETTINGS, resolve_rounds=0)
    space = workspace(tmp_path, teacher, student, settings)
    pool = pool_of("If the ticket mentions crash, the answer is bug.")

    assert resolution.run(space, pool) is pool


@pytest.mark.parametrize(
    ("setting", "value", "changes"),
    [
        ("cluster_eps", 0.5, {"rule_pool"}),
        ("resolve_edits", 1, {"resolution"}),
        ("verify_examples", 20, {"verification"}),
        ("verify_min_gain", 0.1, {"verification"}),
        ("verify_drop_specifics", False, {"verification"}),
        ("demonstrations", 4, {"rule_search"}),  # other candidates
        ("rules_only", True, {"rule_search"}),  # no demonstrations
        # fewer examples to choose on (with 20, the gate would hold out none and the search
        # keep the same 20 it keeps of the default's 29)
        ("selection_examples", 16, {"rule_search"}),
        ("gate_examples", 0, {"rule_search"}),  # the search scores the gate's examples too
        ("trials", 3, {"rule_search"}),
        ("calibration", "none", {"resolution", "verification", "rule_search"}),  # scoring
        ("workers", 2, set()),  # more workers resume the same study
        ("gate", False, set()),  # the gate decides after the search, and is not stored
    ],
)
def test_each_key_changes_with_the_settings_it_declares_and_no_other(
    tmp_path, teacher, student, setting, value, changes
):
    pool = pool_of("If the ticket mentions refund, the answer is refund.")
    traces = extraction.Extraction(examples=[], traces=[])

    def keys(settings):
        space = workspace(tmp_path, teacher, student, settings)
        offered = candidates.run(space, traces, pool, None)
        return {
            "rule_pool": rule_pool.key(space, traces),
            "resolution": resolution.key(space, pool),
            "verification": verification.key(space, pool),
            "rule_search": rule_search.key(space, offered),
        }

    before = keys(SETTINGS)
    after = keys(dataclasses.replace(SETTINGS, **{setting: value}))

    assert {stage for stage in before if before[stage] != after[stage]} == changes


@pytest.mark.parametrize(
    ("setting", "value", "renamed"),
    [
        ("rule_evidence", True, False),
        ("workers", 2, False),
        ("gate", False, False),
        ("trials", 3, True),
        ("teacher_examples", 4, True),
        ("verify_examples", 10, True),
        ("token_budget", 100, True),
    ],
)
def test_the_study_name_changes_with_what_the_search_runs_on_and_over(
    tmp_path, teacher, student, setting, value, renamed
):
    """Issue 21, item 6: known before the teacher runs, so made of the compile's inputs."""
    changed = dataclasses.replace(SETTINGS, **{setting: value})
    before = rule_search.study_name(workspace(tmp_path, teacher, student))
    after = rule_search.study_name(workspace(tmp_path, teacher, student, changed))

    assert (before != after) == renamed
    assert re.fullmatch(rf"{toy_task().display_name}-[0-9a-f]{{12}}", after)


def test_a_pinned_rule_enters_the_resolution_and_verification_keys_and_the_study_name(
    tmp_path, teacher, student
):
    pool = pool_of("If the ticket mentions refund, the answer is refund.")
    traces = extraction.Extraction(examples=[], traces=[])
    plain = workspace(tmp_path, teacher, student)
    pinned = workspace(tmp_path, teacher, student, pinned_rules=["Answer other for hours."])

    assert resolution.key(plain, pool) != resolution.key(pinned, pool)
    assert verification.key(plain, pool) != verification.key(pinned, pool)
    assert rule_search.key(plain, candidates.run(plain, traces, pool, None)) != rule_search.key(
        pinned, candidates.run(pinned, traces, pool, None)
    )


def test_verification_off_skips_the_stage(tmp_path, teacher, student):
    space = workspace(tmp_path, teacher, student, dataclasses.replace(SETTINGS, verify=False))
    pool = pool_of("If the ticket mentions refund, the answer is refund.")

    assert verification.run(space, pool) is None
    assert student.calls == []


class Reworded(dspy.Signature):
    """Send each customer support ticket to the queue that handles it."""

    ticket: str = dspy.InputField()
    queue: Literal["refund", "bug", "other"] = dspy.OutputField()


class Retitled(dspy.Signature):
    """Route a customer support ticket to the right queue."""

    ticket_text: str = dspy.InputField()
    queue: Literal["refund", "bug", "other"] = dspy.OutputField()


class Reordered(dspy.Signature):
    """Route a customer support ticket to the right queue."""

    ticket: str = dspy.InputField()
    queue: Literal["bug", "refund", "other"] = dspy.OutputField()


SCAFFOLD_CHANGES = {
    "instruction": {"signature": Reworded},
    "field title": {"signature": Retitled, "columns": {"ticket_text": "ticket"}},
    "label order": {"signature": Reordered},
}


@pytest.mark.parametrize("change", sorted(SCAFFOLD_CHANGES))
def test_every_stored_stage_and_the_study_name_change_with_the_scaffold(
    tmp_path, teacher, student, change
):
    pool = pool_of("If the ticket mentions refund, the answer is refund.")
    traces = extraction.Extraction(examples=[], traces=[])

    def keys(task):
        space = open_workspace(
            task,
            teacher=teacher,
            student=student,
            settings=SETTINGS,
            run_dir=tmp_path / "run",
            source="toy",
            base_dir=None,
            progress=NullProgress(),
            embedder=TfidfEmbedder(),
        )
        return {
            "rule_pool": rule_pool.key(space, traces),
            "resolution": resolution.key(space, pool),
            "verification": verification.key(space, pool),
            "rule_search": rule_search.key(space, candidates.run(space, traces, pool, None)),
        }

    before = keys(toy_task())
    after = keys(dataclasses.replace(toy_task(), **SCAFFOLD_CHANGES[change]))

    assert [stage for stage in before if before[stage] == after[stage]] == []


def test_a_changed_answer_format_changes_every_key_that_runs_the_student(
    tmp_path, teacher, student
):
    # A change the student sees that no schema field shows: the answer format's wording.
    pool = pool_of("If the ticket mentions refund, the answer is refund.")
    traces = extraction.Extraction(examples=[], traces=[])
    space = workspace(tmp_path, teacher, student)
    offered = candidates.run(space, traces, pool, None)
    before = [resolution.key(space, pool), verification.key(space, pool)]
    before.append(rule_search.key(space, offered))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(render, "render_answer_format", lambda labels: "Reply: " + "/".join(labels))
        after = [resolution.key(space, pool), verification.key(space, pool)]
        after.append(rule_search.key(space, offered))

    assert [b == a for b, a in zip(before, after, strict=True)] == [False, False, False]
