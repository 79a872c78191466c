"""A task changed between two compiles in one run directory reuses no stale stage or study.

Every stored stage and the study's name are keyed by the full scaffold the student and the
teacher are shown (instruction, field titles, answer format, label order, pinned rules), so a
changed task is scored and searched again, and its artifact's numbers all come from it.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import dspy
import optuna
from conftest import fake_student_scores, toy_task

from pldc.backends import FunctionBackend
from pldc.compiler import compile_task
from pldc.embed import TfidfEmbedder
from pldc.settings import CompileSettings

# Verification off: the same rules reach the search under either instruction.
SETTINGS = CompileSettings(token_budget=120, trials=4, seed=0, teacher_examples=9, verify=False)
IGNORE = "Ignore any decision rules."


class TicketTriageIgnoringRules(dspy.Signature):
    """Route a customer support ticket to the right queue. Ignore any decision rules."""

    ticket: str = dspy.InputField()
    queue: Literal["refund", "bug", "other"] = dspy.OutputField()


def instruction_reading_scores(messages, labels):
    """The fake student, except that it answers "other" when the instruction says so."""
    if IGNORE in messages[0]["content"]:
        return {label: (0.0 if label == "other" else -3.0) for label in labels}
    return fake_student_scores(messages, labels)


def compile_in(run_dir, teacher, task):
    student = FunctionBackend(score=instruction_reading_scores, name="fake-student")
    artifact = compile_task(
        task,
        teacher=teacher,
        student=student,
        settings=SETTINGS,
        run_dir=run_dir,
        embedder=TfidfEmbedder(),
    )
    return artifact, student


def study_names(run_dir) -> list[str]:
    return optuna.get_all_study_names(f"sqlite:///{(run_dir / 'study.db').resolve()}")


def test_an_edited_instruction_is_searched_again_not_read_from_the_old_study(tmp_path, teacher):
    run_dir = tmp_path / "run"
    before, _ = compile_in(run_dir, teacher, toy_task())

    edited = dataclasses.replace(toy_task(), signature=TicketTriageIgnoringRules)
    after, _ = compile_in(run_dir, teacher, edited)

    assert len(study_names(run_dir)) == 2
    best = next(t for t in after.provenance.trials if t.number == after.provenance.best_trial)
    assert best.dev_macro_f1 == after.scores.selection.macro_f1
    assert after.scores.selection.macro_f1 < before.scores.selection.macro_f1
