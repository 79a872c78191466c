"""Stage 6, rule evidence: the rules the searched prompt keeps, each with what it adds.

With `rule_evidence` on, each kept rule's leave-one-out change in dev Macro-F1 is measured
(`pldc.evidence`); every score goes through the run's student-score store.
"""

from __future__ import annotations

from pldc.evidence import leave_one_out
from pldc.records import Rule
from pldc.search import SearchResult
from pldc.stages.rule_pool import RulePool
from pldc.stages.workspace import Workspace


def run(workspace: Workspace, pool: RulePool, result: SearchResult) -> list[Rule]:
    """The searched prompt's rules, in prompt order, with `leave_one_out_delta` set when
    `rule_evidence` is on."""
    by_id = {rule.id: rule for rule in workspace.candidate_rules(pool.rules)}
    kept = [by_id[rule_id] for rule_id in result.rule_ids]
    if not workspace.settings.rule_evidence:
        return kept
    return leave_one_out(
        workspace.schema,
        kept,
        workspace.evaluator,
        workspace.data.dev,
        workspace.settings.calibration,
        workspace.progress,
    )
