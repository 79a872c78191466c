"""Stage 8, the final evaluation: the shipped prompt, zero-shot and few-shot, each calibrated
on the calibration examples' inputs (dev first, then training inputs: `calibration_examples`)
and frozen for the selection examples, dev and test, with 95% intervals, and the shipped
prompt's paired test gain over each baseline.

Not stored whole: every label score goes through the run's student-score store.
"""

from __future__ import annotations

from dataclasses import dataclass

from pldc.data import Example
from pldc.evaluate import score_predictions
from pldc.progress import StageProgress
from pldc.records import ArtifactScores, Calibration, Scores
from pldc.search import fit_to_budget
from pldc.stages.candidates import Candidates
from pldc.stages.gate import ShippedPrompt
from pldc.stages.workspace import Workspace
from pldc.stats import paired_difference


@dataclass(frozen=True)
class FinalEvaluation:
    scores: ArtifactScores
    calibration: Calibration
    """The shipped prompt's, fitted on the calibration examples' inputs."""
    baseline_tokens: int
    """Of the scaffold with no rules, counted with the student's tokenizer."""


@dataclass(frozen=True)
class EvaluatedPrompt:
    """One prompt calibrated on the calibration examples' inputs, then frozen for the selection
    examples, dev and test."""

    selection: Scores
    dev: Scores
    test: Scores
    test_predictions: list[str]
    calibration: Calibration


def run(workspace: Workspace, shipped: ShippedPrompt, candidates: Candidates) -> FinalEvaluation:
    """Scores for the shipped prompt and its baselines on selection, dev and test."""
    data, pinned = workspace.data, workspace.pinned
    baseline = fit_to_budget(
        workspace.schema,
        [],
        workspace.student.count_tokens,
        workspace.settings.token_budget,
        pinned,
    )
    prompts = {"shipped": shipped.system_prompt, "zero-shot": baseline.system_prompt}
    if candidates.demonstrations:
        few = fit_to_budget(
            workspace.schema,
            candidates.demonstrations,
            workspace.student.count_tokens,
            workspace.settings.token_budget,
            pinned,
        )
        prompts["few-shot"] = few.system_prompt
    total = len(prompts) * evaluation_calls(workspace, candidates)
    with workspace.progress.stage("final evaluation", total=total) as stage:
        found = {
            name: evaluate_prompt(workspace, p, candidates, stage) for name, p in prompts.items()
        }
    gold = [example.label for example in data.test]
    labels = workspace.schema.labels

    def gain(over: str):
        if over not in found or not gold:
            return None
        return paired_difference(
            gold, found["shipped"].test_predictions, found[over].test_predictions, labels
        )

    few = found.get("few-shot")
    scores = ArtifactScores(
        dev=found["shipped"].dev,
        test=found["shipped"].test,
        selection=found["shipped"].selection,
        baseline_dev=found["zero-shot"].dev,
        baseline_test=found["zero-shot"].test,
        baseline_calibration=found["zero-shot"].calibration,
        few_shot_dev=few.dev if few else None,
        few_shot_test=few.test if few else None,
        test_gain_over_baseline=gain("zero-shot"),
        test_gain_over_few_shot=gain("few-shot"),
    )
    return FinalEvaluation(
        scores=scores,
        calibration=found["shipped"].calibration,
        baseline_tokens=workspace.student.count_tokens(baseline.system_prompt),
    )


def evaluation_calls(workspace: Workspace, candidates: Candidates) -> int:
    """The examples `evaluate_prompt` scores for one prompt (some may be stored already)."""
    data = workspace.data
    return len(candidates.calibration) + len(candidates.selection) + len(data.dev) + len(data.test)


def evaluate_prompt(
    workspace: Workspace, prompt: str, candidates: Candidates, stage: StageProgress
) -> EvaluatedPrompt:
    """`prompt` calibrated on the calibration examples' inputs (`Candidates.calibration`), and
    scored with 95% intervals on the selection examples, dev and test under that calibration."""
    evaluator, method = workspace.evaluator, workspace.settings.calibration
    labels = workspace.schema.labels
    _, calibration = evaluator.predictions(method, prompt, candidates.calibration, stage)

    def scored(examples: list[Example], predicted: list[str]) -> Scores:
        return score_predictions([e.label for e in examples], predicted, labels, interval=True)

    selection = candidates.selection
    chosen = evaluator.decided(prompt, selection, calibration, stage)
    dev = evaluator.decided(prompt, workspace.data.dev, calibration, stage)
    test = evaluator.decided(prompt, workspace.data.test, calibration, stage)
    return EvaluatedPrompt(
        selection=scored(selection, chosen),
        dev=scored(workspace.data.dev, dev),
        test=scored(workspace.data.test, test),
        test_predictions=test,
        calibration=calibration,
    )
