"""The compile pipeline: task data → teacher traces → rule pool → search → CompiledPrompt.

`compile_task` is the stage calls in order; each stage is a module of `pldc.stages`. Every stage
persists its work in the run directory as it goes (teacher calls and student scores in JSONL
stores, whole stages under their keys, trials in an Optuna study), so a killed compile rerun
with the same inputs resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pldc._litellm import keep_litellm_offline
from pldc.backends.base import Backend
from pldc.data import TaskData
from pldc.embed import Embedder
from pldc.evaluate import StudentEvaluator
from pldc.lock import compile_lock
from pldc.progress import NullProgress, Progress, note
from pldc.records import CompiledPrompt
from pldc.settings import CompileSettings
from pldc.stages import (
    assembly,
    candidates,
    extraction,
    final_evaluation,
    front_evaluation,
    gate,
    open_workspace,
    resolution,
    rule_evidence,
    rule_pool,
    rule_search,
    verification,
)
from pldc.stages.workspace import Workspace
from pldc.task import Task

DEFAULT_RUN_ROOT = Path(".pldc")


def compile_task(
    task: Task,
    *,
    teacher: Backend,
    student: Backend,
    settings: CompileSettings | None = None,
    run_dir: Path | None = None,
    source: str = "task",
    base_dir: Path | None = None,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    storage: str | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
    data: TaskData | None = None,
) -> CompiledPrompt:
    """Compile `task` into a frozen prompt for `student`, distilled from `teacher`.

    `run_dir` keeps the resumable work (default: .pldc/<task name>). `source` names the task
    file in error messages; `base_dir` resolves its relative data paths. `storage` is an Optuna
    storage URL for the search study (default: SQLite in the run directory). Search workers
    beyond the first reopen the student recorded in its identity, unless
    `open_worker_evaluator` (a picklable factory) gives them one. `data` is the task's data if
    already loaded (`load_task_data`). The run directory, and a SQLite `storage` file, are
    locked for the whole compile (`pldc.lock`). Raises `BusyError` at once when another compile
    holds either, `DataError` or `BudgetError` before the teacher runs (`pldc.preflight`),
    `SettingsError` or another `PLDError`.
    """
    keep_litellm_offline()  # for a remote embedder, and search workers that reopen the student
    run_dir = run_dir or DEFAULT_RUN_ROOT / task.display_name
    # The workspace checks the data first and makes the run directory only if it passes; the
    # lock, taken next, is what keeps a second compile out of it.
    workspace = open_workspace(
        task,
        teacher=teacher,
        student=student,
        settings=settings or CompileSettings(),
        run_dir=run_dir,
        source=source,
        base_dir=base_dir,
        progress=progress or NullProgress(),
        embedder=embedder,
        data=data,
    )
    where = rule_search.storage_url(workspace, storage)
    note(workspace.progress, f"search study {rule_search.study_name(workspace)} in {where}")
    with compile_lock(run_dir, storage):
        return _run_stages(workspace, storage, open_worker_evaluator)


def _run_stages(
    workspace: Workspace,
    storage: str | None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None,
) -> CompiledPrompt:
    traces = extraction.run(workspace)
    pool = rule_pool.run(workspace, traces)
    pool = resolution.run(workspace, pool)
    verified = verification.run(workspace, pool)
    offered = candidates.run(workspace, traces, pool, verified)
    result = rule_search.run(
        workspace, offered, storage=storage, open_worker_evaluator=open_worker_evaluator
    )
    by_id = {rule.id: rule for rule in workspace.candidate_rules(offered.rules)}
    shipped = gate.run(workspace, offered, [by_id[i] for i in result.rule_ids])
    evaluation = final_evaluation.run(workspace, shipped, offered)
    rules = rule_evidence.run(workspace, shipped, offered)
    front = front_evaluation.run(workspace, offered, result)
    return assembly.compiled_prompt(
        workspace, traces, pool, verified, offered, result, shipped, evaluation, rules, front
    )
