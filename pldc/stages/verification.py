"""Stage 4, rule verification: each candidate rule tried alone on training examples it was not
written from; those that copy their source case or do not help are dropped before the search
(`pldc.verify`). Skipped when `verify` is off.

Stored whole, under `key`.
"""

from __future__ import annotations

from pldc.stages._cached import cached_stage
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace
from pldc.verify import Verification, verification_key, verify_rules


def key(workspace: Workspace, pool: RulePool) -> str:
    """What `pldc.verify.verification_key` names: the student, the scaffold, the candidate
    rules, the sampled training examples and the verification settings."""
    return verification_key(
        workspace.schema,
        pool.rules,
        workspace.data.train,
        workspace.evaluator,
        workspace.settings.verify_settings(),
        workspace.pinned,
    )


def run(workspace: Workspace, pool: RulePool) -> Verification | None:
    """Every rule of `pool` with its verification, and the kept ones; None when skipped."""
    if not workspace.settings.verify:
        return None

    def verify() -> Verification:
        return verify_rules(
            workspace.schema,
            pool.rules,
            workspace.data.train,
            workspace.evaluator,
            workspace.settings.verify_settings(),
            workspace.progress,
            workspace.pinned,
        )

    return cached_stage(workspace.stages, key(workspace, pool), Verification, verify)
