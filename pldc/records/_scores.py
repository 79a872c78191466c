"""Scores and the decisions made on them: calibration, intervals, the final gate."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from pldc.records._base import NewerFieldsOmitted

CalibrationMethod = Literal["none", "batch"]


class Calibration(BaseModel):
    """Per-label offsets added to the student's label log-likelihoods (see pldc.calibration)."""

    method: CalibrationMethod
    label_offsets: dict[str, float]


class Interval(BaseModel):
    """A point estimate and its percentile bootstrap interval (see `pldc.stats`), e.g. a
    Macro-F1 of 0.41 [0.33, 0.49], or a paired difference of +0.05 [-0.02, +0.12]."""

    estimate: float
    low: float
    high: float
    confidence: float = 0.95
    resamples: int = 2000

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def __str__(self) -> str:
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


class Estimate(BaseModel):
    """The mean of paired per-example differences, with its 95% t-interval (low <= mean <= high).

    The interval is the mean itself when every difference is the same.
    """

    mean: float
    low: float
    high: float


class Scores(NewerFieldsOmitted):
    """Macro-F1 with its parts. `confusion[i][j]` counts gold `labels[i]` predicted `labels[j]`;
    off-label replies are in no column (see `off_label`)."""

    n: int
    macro_f1: float
    accuracy: float
    per_class_f1: dict[str, float]
    labels: list[str]
    confusion: list[list[int]]
    macro_f1_interval: Interval | None = None
    """95% percentile bootstrap interval of `macro_f1` over the examples; None (and absent
    from the JSON, as in artifacts made before intervals) if not made."""
    off_label: int = 0
    """Replies that named no label (a generate-and-parse student's), each counted as a wrong
    answer and in no column of `confusion`; absent from the JSON when 0."""

    newer_fields = ("macro_f1_interval", "off_label")


class GateRecord(NewerFieldsOmitted):
    """The final gate (see `pldc.gate`): did the searched prompt beat the baselines?"""

    shipped: str
    """"searched", or the name of the baseline shipped instead ("zero-shot", "few-shot")."""
    examples: int
    """Selection examples the decision was made on."""
    searched_macro_f1: float
    baseline_macro_f1: dict[str, float]
    best_baseline: str
    difference: Interval | None
    """Macro-F1 of the searched prompt minus the best baseline's, paired over the examples;
    None when the searched prompt is that baseline."""
    reason: str
    statistic: Literal["macro_f1", "gold_log_prob"] = "macro_f1"
    """What the decision was made on: the Macro-F1 difference's interval (artifacts made
    before the log-probability gate), or the mean gold-label log-probability difference's."""
    searched_gold_log_prob: float | None = None
    """Mean calibrated gold-label log-probability (nats) of the searched prompt."""
    baseline_gold_log_prob: dict[str, float] | None = None
    gold_log_prob_difference: Interval | None = None
    """Mean gold-label log-probability of the searched prompt minus the best baseline's, in
    nats, paired over the examples; None when the searched prompt is that baseline."""

    newer_fields = (
        "statistic",
        "searched_gold_log_prob",
        "baseline_gold_log_prob",
        "gold_log_prob_difference",
    )


class ArtifactScores(NewerFieldsOmitted):
    """The shipped prompt's scores beside its baselines', each calibrated on the calibration
    examples' inputs (`Provenance.calibration_example_ids`; the selection examples' before it)
    and frozen for the selection examples, dev and test."""

    dev: Scores
    test: Scores
    baseline_dev: Scores
    """The same student and scaffold with no rules (zero-shot)."""
    baseline_test: Scores
    baseline_calibration: Calibration
    selection: Scores | None = None
    """On the examples the search and the gate chose on (all of dev, then unused training
    examples); None in artifacts made before selection examples."""
    few_shot_dev: Scores | None = None
    """The demonstrations alone (few-shot); None when the search had none."""
    few_shot_test: Scores | None = None
    test_gain_over_baseline: Interval | None = None
    """Test Macro-F1 of the shipped prompt minus zero-shot's, paired over test examples."""
    test_gain_over_few_shot: Interval | None = None

    newer_fields = (
        "selection",
        "few_shot_dev",
        "few_shot_test",
        "test_gain_over_baseline",
        "test_gain_over_few_shot",
    )
