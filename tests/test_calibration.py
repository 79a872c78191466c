"""Batch calibration removes a student's fixed label prior using inputs only, never labels."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pldc.calibration import (
    PROBABILITY_FLOOR,
    calibration_examples,
    decide,
    fit_calibration,
    gold_log_probability,
)
from pldc.data import Example
from pldc.records import Calibration
from pldc.stats import paired_mean_difference

LABELS = ("approve", "reject", "escalate")


def biased_rows(true_labels, prior_bonus=3.0):
    """Log-likelihoods that prefer the true label by 1 nat, plus a constant bonus for approve."""
    rows = []
    for truth in true_labels:
        row = {label: (0.0 if label == truth else -1.0) for label in LABELS}
        row["approve"] += prior_bonus
        rows.append(row)
    return rows


def test_uncalibrated_decoding_follows_the_prior():
    rows = biased_rows(LABELS * 4)
    none = fit_calibration("none", rows, LABELS)
    assert {decide(row, LABELS, none) for row in rows} == {"approve"}


def test_batch_calibration_recovers_the_signal_under_a_constant_prior():
    truths = LABELS * 4
    rows = biased_rows(truths)
    batch = fit_calibration("batch", rows, LABELS)
    assert [decide(row, LABELS, batch) for row in rows] == list(truths)


def test_offsets_are_minus_the_log_of_the_mean_predicted_distribution():
    rows = [
        {"approve": math.log(0.8), "reject": math.log(0.1), "escalate": math.log(0.1)},
        {"approve": math.log(0.4), "reject": math.log(0.5), "escalate": math.log(0.1)},
    ]
    offsets = fit_calibration("batch", rows, LABELS).label_offsets
    assert offsets["approve"] == pytest.approx(-math.log(0.6), abs=1e-5)
    assert offsets["reject"] == pytest.approx(-math.log(0.3), abs=1e-5)
    assert offsets["escalate"] == pytest.approx(-math.log(0.1), abs=1e-5)


def test_a_label_the_student_never_gives_gets_a_finite_offset():
    rows = [{"approve": 0.0, "reject": -math.inf, "escalate": -math.inf}] * 3
    offsets = fit_calibration("batch", rows, LABELS).label_offsets
    assert all(math.isfinite(offset) for offset in offsets.values())


def test_ties_go_to_the_label_declared_first():
    flat = Calibration(method="none", label_offsets={label: 0.0 for label in LABELS})
    assert decide({label: -1.0 for label in LABELS}, LABELS, flat) == "approve"


OFF_LABEL = {label: -math.inf for label in LABELS}
"""A generate-and-parse student's scores for a reply that named no label."""


def test_an_off_label_reply_is_left_out_of_the_fit():
    rows = biased_rows(LABELS * 2)

    with_off_label = fit_calibration("batch", [*rows, OFF_LABEL, OFF_LABEL], LABELS)

    assert with_off_label == fit_calibration("batch", rows, LABELS)


def test_a_batch_of_off_label_replies_only_gives_zero_offsets():
    offsets = fit_calibration("batch", [OFF_LABEL] * 3, LABELS).label_offsets

    assert offsets == {label: 0.0 for label in LABELS}


def test_an_off_label_reply_decides_no_label_under_any_calibration():
    batch = fit_calibration("batch", biased_rows(LABELS), LABELS)

    assert decide(OFF_LABEL, LABELS, batch) is None


def test_a_label_without_a_finite_score_is_never_decided():
    flat = Calibration(method="none", label_offsets={label: 0.0 for label in LABELS})

    assert decide({"approve": math.nan, "reject": -3.0, "escalate": -math.inf}, LABELS, flat) == (
        "reject"
    )
    assert decide({"approve": math.nan, "reject": math.inf, "escalate": -9.0}, LABELS, flat) == (
        "escalate"
    )


SCORE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-math.inf, math.inf, math.nan, 0.0, -1e308, 1e308]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.fixed_dictionaries({label: SCORE for label in LABELS}), max_size=8))
def test_calibration_offsets_are_finite_for_any_scores(rows):
    offsets = fit_calibration("batch", rows, LABELS).label_offsets

    assert all(math.isfinite(offset) for offset in offsets.values())
    calibration = Calibration(method="batch", label_offsets=offsets)
    assert {decide(row, LABELS, calibration) for row in rows} <= {*LABELS, None}


def test_the_gold_log_probability_is_taken_after_the_offsets_and_floored():
    calibration = Calibration(method="batch", label_offsets={"a": 0.0, "b": math.log(3.0)})
    scores = {"a": math.log(0.5), "b": math.log(0.5)}  # calibrated: 1/4 against 3/4

    assert gold_log_probability(scores, "b", ["a", "b"], calibration) == pytest.approx(
        math.log(0.75)
    )
    assert gold_log_probability(scores, "a", ["a", "b"], calibration) == pytest.approx(
        math.log(0.25)
    )
    off_label = {"a": -math.inf, "b": -math.inf}
    floor = math.log(PROBABILITY_FLOOR)
    assert gold_log_probability(off_label, "a", ["a", "b"], calibration) == floor
    certain = {"a": 0.0, "b": -1000.0}
    assert gold_log_probability(certain, "b", ["a", "b"], calibration) == floor
    with pytest.raises(KeyError, match="'c'"):
        gold_log_probability(scores, "c", ["a", "b"], calibration)


def test_a_paired_mean_difference_brackets_its_estimate_and_cancels_shared_difficulty():
    difficulty = [-(i % 9) * 1.5 for i in range(60)]  # large, shared by both prompts
    better = [d + 0.1 + 0.01 * (i % 3) for i, d in enumerate(difficulty)]
    interval = paired_mean_difference(better, difficulty)

    assert interval.low <= interval.estimate <= interval.high
    assert interval.estimate == pytest.approx(0.11, abs=1e-6)
    assert interval.low > 0.1  # the shared difficulty cancels in the pairs
    with pytest.raises(ValueError):
        paired_mean_difference(better, difficulty[:-1])


def _examples(prefix, count):
    return [
        Example(id=f"{prefix}{i:03d}", inputs={"text": str(i)}, label="a") for i in range(count)
    ]


def test_calibration_examples_are_all_of_dev_then_seeded_training_examples_up_to_the_limit():
    dev, train = _examples("d", 5), _examples("t", 20)
    chosen = calibration_examples(dev, train, 12, seed=0)
    assert chosen[:5] == dev and len(chosen) == 12
    assert {example.id for example in chosen[5:]} < {example.id for example in train}
    assert chosen == calibration_examples(dev, list(reversed(train)), 12, seed=0)
    assert chosen != calibration_examples(dev, train, 12, seed=1)
    assert calibration_examples(dev, train, 600, seed=0)[5:] != train  # shuffled, all there
    assert sorted(calibration_examples(dev, train, 600, seed=0)[5:], key=lambda e: e.id) == train
