"""Stage 6, the search: which candidate rules the student's prompt keeps, in what order, under
the token budget (`pldc.search`, where the strategies live).

Stored in an Optuna study named by `study_name`, in the run directory's `study.db` unless a storage
URL is given; a stopped search resumes its study.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial
from typing import Any

from pldc.evaluate import StudentEvaluator, scorer_key
from pldc.search import SEARCH_REVISION, SearchResult, search_rules
from pldc.stages.candidates import Candidates
from pldc.stages.workspace import Workspace, reopened_evaluator_in
from pldc.store import content_key


def key(workspace: Workspace, candidates: Candidates) -> str:
    """What the study searches (24 hex digits): the search revision, the candidates, how the student
    scores, the data and its splits, the selection examples, the search settings and what the
    student is shown besides the candidates. The worker count is left out, so more workers
    resume the same study."""
    settings = workspace.settings.search_settings()
    return content_key(
        "search",
        SEARCH_REVISION,
        [rule.model_dump() for rule in workspace.candidate_rules(candidates.rules)],
        scorer_key(workspace.student.identity),
        workspace.data.fingerprint,
        asdict(replace(settings, workers=1)),
        workspace.student_scaffold(),
        [example.id for example in candidates.selection],
    )[:24]


AFTER_THE_SEARCH = ("workers", "gate", "rule_evidence", "calibration_examples")
"""Compile settings that change nothing the search runs on or over, so no study's name."""


def study_name(workspace: Workspace) -> str:
    """What the study is called in storage, known before the teacher runs: the task's name and
    12 hex digits of what the candidates and the search are made from (search revision, teacher
    and student, the data and its splits, the settings but `AFTER_THE_SEARCH`, the scaffolds),
    e.g. "legal_intake-3f9c0a1b2d4e", readable in optuna-dashboard. The candidates themselves
    are checked against the study's "search_key" attribute (`key`) when it resumes."""
    settings = asdict(workspace.settings)
    digest = content_key(
        "study",
        SEARCH_REVISION,
        workspace.teacher.identity.model_dump(mode="json"),
        scorer_key(workspace.student.identity),
        workspace.data.fingerprint,
        {name: value for name, value in settings.items() if name not in AFTER_THE_SEARCH},
        workspace.student_scaffold(),
        workspace.teacher_scaffold(),
    )
    return f"{workspace.task.display_name}-{digest[:12]}"


def storage_url(workspace: Workspace, storage: str | None) -> str:
    """`storage`, or the run directory's own SQLite file."""
    return storage or f"sqlite:///{(workspace.run_dir / 'study.db').resolve()}"


def study_attributes(workspace: Workspace, candidates: Candidates) -> dict[str, Any]:
    """The user attributes a new study carries: task, budget, models, objective, pldc version,
    and `key` as "search_key" (a resumed study must have searched the same candidates)."""
    from pldc import __version__

    settings = workspace.settings
    return {
        "search_key": key(workspace, candidates),
        "task": workspace.task.display_name,
        "token_budget": settings.token_budget,
        "teacher": workspace.teacher.identity.name,
        "student": workspace.student.identity.name,
        "objective": settings.objective,
        "selection_examples": settings.selection_examples,
        "pldc_version": __version__,
    }


def run(
    workspace: Workspace,
    candidates: Candidates,
    *,
    storage: str | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
) -> SearchResult:
    """The best prompt the search found on the selection examples. Search workers beyond the
    first call `open_worker_evaluator` (default: reopen the recorded student). Raises
    `SettingsError` for unusable storage, `PLDError` if no trial finishes."""
    run_dir = workspace.run_dir
    return search_rules(
        workspace.schema,
        candidates.rules,
        workspace.evaluator,
        candidates.selection,
        workspace.settings.search_settings(),
        pinned=workspace.pinned,
        storage=storage_url(workspace, storage),
        study_name=study_name(workspace),
        study_attrs=study_attributes(workspace, candidates),
        progress=workspace.progress,
        open_worker_evaluator=open_worker_evaluator
        or partial(reopened_evaluator_in, run_dir, workspace.student.identity, workspace.schema),
    )
