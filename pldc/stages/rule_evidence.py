"""Stage 6, rule evidence: the rules the searched prompt keeps, each with what it adds.

With `rule_evidence` on, each kept rule's leave-one-out change in dev Macro-F1 is measured
(`pldc.evidence`); every score goes through the run's student-score store.
"""

from __future__ import annotations

from pldc.evidence import leave_one_out
from pldc.records import Rule
from pldc.stages.workspace import Workspace


def run(workspace: Workspace, kept: list[Rule]) -> list[Rule]:
    """The shipped prompt's rules and demonstrations, in prompt order, with
    `leave_one_out_delta` set when `rule_evidence` is on."""
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
