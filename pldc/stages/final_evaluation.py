"""Stage 5, the final evaluation: the searched prompt and the no-rules baseline on dev and test.

Not stored whole: every label score goes through the run's student-score store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pldc.records import ArtifactScores, Calibration
from pldc.render import render_system_prompt
from pldc.search import SearchResult
from pldc.stages.workspace import Workspace


@dataclass(frozen=True)
class FinalEvaluation:
    scores: ArtifactScores
    calibration: Calibration
    """The searched prompt's, fitted on the dev inputs."""
    baseline_tokens: int
    """Of the scaffold with no rules, counted with the student's tokenizer."""


def run(workspace: Workspace, result: SearchResult) -> FinalEvaluation:
    """Each prompt is calibrated on the dev inputs, then frozen and scored on the test split."""
    evaluator, data, method = workspace.evaluator, workspace.data, workspace.settings.calibration
    baseline_prompt = render_system_prompt(workspace.schema, [])
    total = 2 * len(data.dev) + 2 * len(data.test)
    with workspace.progress.stage("final evaluation", total=total) as stage:
        dev, calibration = evaluator.calibrated(method, result.system_prompt, data.dev, stage)
        baseline_dev, baseline_calibration = evaluator.calibrated(
            method, baseline_prompt, data.dev, stage
        )
        scores = ArtifactScores(
            dev=dev,
            baseline_dev=baseline_dev,
            test=evaluator.evaluate(result.system_prompt, data.test, calibration, stage),
            baseline_test=evaluator.evaluate(
                baseline_prompt, data.test, baseline_calibration, stage
            ),
            baseline_calibration=baseline_calibration,
        )
    return FinalEvaluation(
        scores=scores,
        calibration=calibration,
        baseline_tokens=workspace.student.count_tokens(baseline_prompt),
    )
