"""One trial: the strategy's proposal, fitted to the budget and scored on growing dev slices."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import optuna

from pldc.calibration import CalibrationMethod
from pldc.data import Example, round_robin_sample
from pldc.evaluate import StudentEvaluator, score_predictions
from pldc.progress import Progress
from pldc.search._base import RuleSpace, SearchStrategy
from pldc.search._pruning import Pruning
from pldc.search._study import NothingToRun


@dataclass
class TrialObjective:
    """Scores one trial's prompt; returns its `metric` on the selection examples, then tokens
    if the study minimizes them (Pareto).

    `metric` is "macro_f1" or "gold_log_prob" (the mean calibrated gold-label log-probability,
    in nats; `pldc.calibration.gold_log_probability`). Each trial records its prompt in user
    attributes: `rule_ids` (pinned first), `tokens`, `worker`, `dev_examples` (the slice last
    scored), `macro_f1` and `gold_log_prob` on it, and, if pruned, `pruned_dev_macro_f1`.
    """

    study: optuna.Study
    strategy: SearchStrategy
    space: RuleSpace
    evaluator: StudentEvaluator
    dev: Sequence[Example]
    slice_sizes: Sequence[int]
    """Growing dev example counts, the last one the whole split."""
    pruning: Pruning
    calibration: CalibrationMethod
    seed: int
    progress: Progress
    worker: int = 0
    metric: str = "macro_f1"

    def __post_init__(self) -> None:
        # Slices grow along a label-interleaved order, so even the first slice sees every label.
        self.ordered_dev = round_robin_sample(self.dev, len(self.dev), random.Random(self.seed))

    def __call__(self, trial: optuna.Trial) -> tuple[float, ...]:
        ranked = self.strategy.propose(self.study, trial, self.space)
        if ranked is None:
            trial.set_user_attr("nothing_to_propose", True)
            raise NothingToRun
        fitted = self.space.fit(ranked)
        trial.set_user_attr("rule_ids", [rule.id for rule in fitted.rules])
        trial.set_user_attr("tokens", fitted.tokens)
        trial.set_user_attr("worker", self.worker)
        for size in self.slice_sizes:
            examples = self.ordered_dev[:size]
            with self.progress.stage(f"trial {trial.number}: dev[:{size}]", total=size) as stage:
                predicted, log_probs = self.evaluator.gold_log_probabilities(
                    self.calibration, fitted.system_prompt, examples, stage
                )
            labels = self.evaluator.schema.labels
            macro_f1 = score_predictions([ex.label for ex in examples], predicted, labels).macro_f1
            gold_log_prob = round(float(np.mean(log_probs)), 6)
            trial.set_user_attr("dev_examples", size)
            trial.set_user_attr("macro_f1", macro_f1)
            trial.set_user_attr("gold_log_prob", gold_log_prob)
            value = gold_log_prob if self.metric == "gold_log_prob" else macro_f1
            if size < len(self.dev) and self.pruning.prunes(trial, value, size):
                trial.set_user_attr("pruned_dev_macro_f1", macro_f1)
                raise optuna.TrialPruned()
        # The metric first; a study with a second direction also minimizes prompt tokens.
        return (value, float(fitted.tokens))[: len(self.strategy.directions)]


def slice_sizes(fractions: Sequence[float], total: int) -> list[int]:
    """Distinct, growing example counts for the fractions; the last always covers the split."""
    return sorted({max(1, min(total, round(f * total))) for f in fractions} | {total})
