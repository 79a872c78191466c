"""Stage 3, conflict resolution: the teacher edits the rules where the student still fails
(`pldc.resolve`). Skipped when `resolve_rounds` is 0.

Stored whole, under `key`.
"""

from __future__ import annotations

from dataclasses import asdict

from pldc.evaluate import scorer_key
from pldc.resolve import resolve_conflicts
from pldc.stages._cached import cached_stage
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace
from pldc.store import content_key


def key(workspace: Workspace, pool: RulePool) -> str:
    """Resolution depends on the pool, the teacher, how the student scores, the data and its
    splits, the resolution settings, and what the student (pinned rules included) and the
    teacher are shown of the task."""
    return content_key(
        "resolution",
        [rule.model_dump() for rule in pool.rules],
        workspace.teacher.identity.model_dump(),
        scorer_key(workspace.student.identity),
        workspace.data.fingerprint,
        asdict(workspace.settings.resolve_settings()),
        workspace.student_scaffold(),
        workspace.teacher_scaffold(),
    )


def run(workspace: Workspace, pool: RulePool) -> RulePool:
    """The resolved rules that fit the budget, then the rest, with the log of every edit."""
    if workspace.settings.resolve_rounds == 0:
        return pool

    def resolve() -> RulePool:
        rules, record = resolve_conflicts(
            workspace.schema,
            pool.rules,
            workspace.evaluator,
            workspace.data.train,
            workspace.data.dev,
            workspace.teacher,
            workspace.settings.resolve_settings(),
            workspace.progress,
            workspace.pinned,
        )
        return RulePool(rules=rules, resolution=record)

    return cached_stage(workspace.stages, key(workspace, pool), RulePool, resolve)
