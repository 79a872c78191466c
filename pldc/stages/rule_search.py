"""Stage 4, the search: which candidate rules the student's prompt keeps, in what order, under
the token budget (`pldc.search`, where the strategies live).

Stored in an Optuna study named by `key`, in the run directory's `study.db` unless a storage
URL is given; a stopped search resumes its study.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from functools import partial

from pldc.evaluate import StudentEvaluator, scorer_key
from pldc.search import SearchResult, search_rules
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace, reopened_evaluator_in
from pldc.store import content_key


def key(workspace: Workspace, pool: RulePool) -> str:
    """The study's name (24 hex digits): the candidate rules, how the student scores, the data
    and its splits, the search settings and the prompt's user template. The worker count is
    left out, so more workers resume the same study."""
    settings = workspace.settings.search_settings()
    return content_key(
        "search",
        [rule.model_dump() for rule in workspace.candidate_rules(pool.rules)],
        scorer_key(workspace.student.identity),
        workspace.data.fingerprint,
        asdict(replace(settings, workers=1)),
        workspace.user_template,
    )[:24]


def run(
    workspace: Workspace,
    pool: RulePool,
    *,
    storage: str | None = None,
    open_worker_evaluator: Callable[[], StudentEvaluator] | None = None,
) -> SearchResult:
    """The best prompt the search found on dev. Search workers beyond the first call
    `open_worker_evaluator` (default: reopen the recorded student). Raises `SettingsError` for
    unusable storage, `PLDError` if no trial finishes."""
    run_dir = workspace.run_dir
    return search_rules(
        workspace.schema,
        pool.rules,
        workspace.evaluator,
        workspace.data.dev,
        workspace.settings.search_settings(),
        pinned=workspace.pinned,
        storage=storage or f"sqlite:///{(run_dir / 'study.db').resolve()}",
        study_name=key(workspace, pool),
        progress=workspace.progress,
        open_worker_evaluator=open_worker_evaluator
        or partial(reopened_evaluator_in, run_dir, workspace.student.identity, workspace.schema),
    )
