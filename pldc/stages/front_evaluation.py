"""Stage 10, the Pareto front's evaluation: each front prompt calibrated and scored as the
shipped prompt is (`final_evaluation.evaluate_prompt`: offsets fitted on the calibration
examples' inputs, dev and test scored with 95% intervals), so `pldc pick` can choose one later
without searching again. Only for a search with objective "pareto"; every score goes through
the run's student-score store.
"""

from __future__ import annotations

from pldc.records import ParetoPoint
from pldc.render import render_candidates
from pldc.search import SearchResult
from pldc.stages.candidates import Candidates
from pldc.stages.final_evaluation import evaluate_prompt, evaluation_calls
from pldc.stages.workspace import Workspace


def run(
    workspace: Workspace, candidates: Candidates, result: SearchResult
) -> list[ParetoPoint] | None:
    """One point per front prompt, shortest first; None when the search kept no front."""
    if result.pareto_front is None:
        return None
    by_id = {rule.id: rule for rule in workspace.candidate_rules(candidates.rules)}
    points = []
    total = len(result.pareto_front) * evaluation_calls(workspace, candidates)
    with workspace.progress.stage("Pareto front evaluation", total=total) as stage:
        for point in result.pareto_front:
            prompt = render_candidates(workspace.schema, [by_id[i] for i in point.rule_ids])
            evaluated = evaluate_prompt(workspace, prompt, candidates, stage)
            points.append(
                ParetoPoint(
                    trial=point.trial,
                    rule_ids=point.rule_ids,
                    system_prompt=prompt,
                    tokens=point.tokens,
                    calibration=evaluated.calibration,
                    dev=evaluated.dev,
                    test=evaluated.test,
                )
            )
    return points
