"""Stage 9, rule evidence: the shipped prompt's rules and demonstrations, each with what it adds.

With `rule_evidence` on, each one's leave-one-out change in dev Macro-F1 is measured
(`pldc.evidence`), every prompt calibrated on the selection examples' inputs as the search's
trials are (cheaper than refitting on all of `calibration_examples` per prompt); every score
goes through the run's student-score store.
"""

from __future__ import annotations

from pldc.evidence import leave_one_out
from pldc.records import Rule
from pldc.stages.candidates import Candidates
from pldc.stages.gate import ShippedPrompt
from pldc.stages.workspace import Workspace


def run(workspace: Workspace, shipped: ShippedPrompt, candidates: Candidates) -> list[Rule]:
    """The shipped prompt's candidates, in prompt order, with `leave_one_out_delta` set when
    `rule_evidence` is on."""
    if not workspace.settings.rule_evidence:
        return shipped.candidates
    return leave_one_out(
        workspace.schema,
        shipped.candidates,
        workspace.evaluator,
        workspace.data.dev,
        workspace.settings.calibration,
        workspace.progress,
        calibrate_on=candidates.selection,
    )
