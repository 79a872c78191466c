"""Stage 2, the rule pool: the traces' rules clustered per label and merged (`pldc.rulepool`).

Stored whole, under `key`.
"""

from __future__ import annotations

from dataclasses import asdict

from pydantic import BaseModel, ConfigDict, Field

from pldc.records import ResolutionRecord, Rule
from pldc.rulepool import build_rule_pool
from pldc.stages._cached import cached_stage
from pldc.stages.extraction import Extraction
from pldc.stages.workspace import Workspace
from pldc.store import content_key


class RulePool(BaseModel):
    """The candidate rules, in the teacher's order, and the resolution log once it ran."""

    # Stored as {"rules": ..., "record": ...}, the form run directories already hold.
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    rules: list[Rule]
    resolution: ResolutionRecord | None = Field(default=None, alias="record")


def key(workspace: Workspace, extraction: Extraction) -> str:
    """The pool depends on the traces, the teacher that merges them, the embedder, the
    clustering settings, and what the teacher is shown of the task."""
    return content_key(
        "rule-pool",
        [trace.model_dump() for trace in extraction.traces],
        workspace.teacher.identity.model_dump(),
        workspace.embedder.name,
        asdict(workspace.settings.cluster_settings()),
        workspace.teacher_scaffold(),
    )


def run(workspace: Workspace, extraction: Extraction) -> RulePool:
    """The traces' rules, clustered and merged, ordered by support; no resolution yet."""

    def cluster() -> RulePool:
        rules = build_rule_pool(
            workspace.schema,
            extraction.traces,
            workspace.embedder,
            workspace.teacher,
            workspace.settings.cluster_settings(),
            workspace.progress,
        )
        return RulePool(rules=rules)

    return cached_stage(workspace.stages, key(workspace, extraction), RulePool, cluster)
