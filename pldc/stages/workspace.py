"""The workspace every stage reads: one compile's task data, settings, models and stores.

`open_workspace` loads and splits the data and refuses an impossible token budget, both before
any model runs, and opens the run directory's stores: every teacher call, student score,
embedding batch and stored stage is written there as soon as it exists, so a stopped compile
rerun with the same inputs resumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pldc.backends import open_recorded_model
from pldc.backends.base import Backend, ModelIdentity
from pldc.data import TaskData, load_task_data
from pldc.embed import Embedder, StoredEmbedder, open_embedder
from pldc.evaluate import StudentEvaluator
from pldc.extract import StoredTeacher
from pldc.preflight import fit_to_student
from pldc.progress import Progress
from pldc.records import Rule
from pldc.render import render_user_template, student_scaffold, teacher_scaffold
from pldc.rulepool import pinned_rules
from pldc.settings import CompileSettings
from pldc.store import JsonlStore
from pldc.task import Task, TaskSchema


@dataclass(frozen=True)
class Workspace:
    """What the stages of one compile share. Stages take it explicitly and never change it."""

    task: Task
    schema: TaskSchema
    data: TaskData
    settings: CompileSettings
    run_dir: Path
    teacher: StoredTeacher
    """Every call stored in `teacher_traces.jsonl`."""
    student: Backend
    evaluator: StudentEvaluator
    """The student's label scores, every one stored in `student_scores.jsonl`."""
    embedder: StoredEmbedder
    """Every batch stored in `embeddings.jsonl`."""
    stages: JsonlStore
    """Whole stage results (see `cached_stage`), in `stages.jsonl`."""
    pinned: tuple[Rule, ...]
    """The task file's pinned rules, which lead every prompt."""
    user_template: str
    progress: Progress

    def candidate_rules(self, pool: list[Rule]) -> list[Rule]:
        """The pinned rules, then `pool`: every rule a prompt may hold."""
        return [*self.pinned, *pool]

    def student_scaffold(self) -> dict[str, Any]:
        """What the student is shown besides candidates and case, pinned rules included
        (`pldc.render.student_scaffold`); the key of every stored stage that runs it holds it."""
        return student_scaffold(self.schema, [rule.text for rule in self.pinned])

    def teacher_scaffold(self) -> dict[str, Any]:
        """What the teacher is shown of the task (`pldc.render.teacher_scaffold`); the key of
        every stored stage the teacher works in holds it."""
        return teacher_scaffold(self.schema)


def open_workspace(
    task: Task,
    *,
    teacher: Backend,
    student: Backend,
    settings: CompileSettings,
    run_dir: Path,
    source: str,
    base_dir: Path | None,
    progress: Progress,
    embedder: Embedder | None = None,
    data: TaskData | None = None,
) -> Workspace:
    """The workspace of a compile of `task` in `run_dir` (created if missing).

    `source` names the task file in error messages; `base_dir` resolves its relative data paths.
    `embedder` defaults to `open_embedder()`; `data`, the task's data already loaded, is loaded
    here when None. Raises `DataError` for unusable data or examples beyond the student's context
    and `BudgetError` when the pinned rules alone exceed the token budget, before any model time
    is spent (`pldc.preflight.fit_to_student`).
    """
    schema = task.schema
    if data is None:
        data = load_task_data(task, source, base_dir)
    data = fit_to_student(task, data, student, settings.token_budget, source)
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the inputs are known good
    pinned = pinned_rules(task.pinned_rules)
    embeddings = JsonlStore(run_dir / "embeddings.jsonl")
    return Workspace(
        task=task,
        schema=schema,
        data=data,
        settings=settings,
        run_dir=run_dir,
        teacher=stored_teacher_in(run_dir, teacher),
        student=student,
        evaluator=stored_evaluator_in(run_dir, student, schema),
        embedder=StoredEmbedder(embedder or open_embedder(), embeddings),
        stages=JsonlStore(run_dir / "stages.jsonl"),
        pinned=tuple(pinned),
        user_template=render_user_template(schema),
        progress=progress,
    )


def stored_teacher_in(run_dir: Path, teacher: Backend) -> StoredTeacher:
    """The teacher, with every call it finishes stored in the run directory."""
    return StoredTeacher(teacher, JsonlStore(run_dir / "teacher_traces.jsonl"))


def stored_evaluator_in(run_dir: Path, student: Backend, schema: TaskSchema) -> StudentEvaluator:
    """A student evaluator whose every label score is stored in the run directory."""
    store = JsonlStore(run_dir / "student_scores.jsonl")
    return StudentEvaluator(student, schema, render_user_template(schema), store)


def reopened_evaluator_in(
    run_dir: Path, student: ModelIdentity, schema: TaskSchema
) -> StudentEvaluator:
    """A search worker's evaluator: the recorded student, reopened in the worker's process."""
    backend = open_recorded_model(student)
    return stored_evaluator_in(run_dir, backend, schema)
