"""Batch calibration removes a student's fixed label prior using inputs only, never labels."""

from __future__ import annotations

import math

import pytest

from pldc.calibration import decide, fit_calibration
from pldc.records import Calibration

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
